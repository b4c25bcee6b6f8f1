"""Worker resources per job type: rule matching, scheduler headers, dynamic jobs."""

from __future__ import annotations

import pytest
from jobflow import Flow, JobStore
from maggma.stores import MemoryStore

from anodefree.errors import ConfigError
from anodefree.structures.bulk import bulk_structure
from anodefree.tasks import CalculationTask
from anodefree.workflows.engines.registry import get_engine
from anodefree.workflows.execution.probes import add, spawn, where_am_i
from anodefree.workflows.execution.resources import (
    JobResources,
    ResourcePolicy,
    ResourceRule,
    apply_policy,
    default_policy,
    maker_classes,
)

pytest.importorskip("jobflow_remote")
pytest.importorskip("fireworks")

BIG = JobResources(
    processes=4, threads_per_process=2, memory_per_cpu_mb=1500, time_limit_min=90.5,
    partition="compute", account="proj42",
)  # fmt: skip


def relax_job():
    task = CalculationTask(kind="relax_full")
    return get_engine("morse").relax_maker(task).make(bulk_structure("Li"))


def test_rules_match_by_name_and_by_maker_class_first_match_wins():
    relax = relax_job()
    bookkeeping = add(1, 2)
    bookkeeping.name = "collect energies"
    policy = ResourcePolicy(
        rules=[
            ResourceRule(name_contains="collect", worker="local"),
            ResourceRule(maker="AseMaker", worker="batch", resources=BIG),
            ResourceRule(name_contains="relax", worker="never-reached"),
        ],
        default_worker="other",
    )
    assert "AseMaker" in maker_classes(relax)
    assert maker_classes(bookkeeping) == []
    assert policy.resolve(relax).worker == "batch"
    assert policy.resolve(relax).rule == 1
    assert policy.resolve(relax).resources == BIG
    assert policy.resolve(bookkeeping).worker == "local"
    unmatched = add(3, 4)
    assert policy.resolve(unmatched).worker == "other"
    assert policy.resolve(unmatched).rule is None


def test_default_policy_sends_calculations_to_batch_and_the_rest_local():
    policy = default_policy()
    assert policy.resolve(relax_job()).worker == "batch"
    assert policy.resolve(add(1, 2)).worker == "local"
    named = add(1, 2)
    named.name = "Li bcc [morse static]"  # a run-time engine job of CalculationMaker
    assert policy.resolve(named).worker == "batch"


def test_rule_needs_a_criterion_and_policy_file_errors_name_the_field(tmp_path):
    with pytest.raises(ValueError, match="name_contains or maker"):
        ResourceRule(worker="batch")
    bad = tmp_path / "policy.yaml"
    bad.write_text("rules:\n  - name_contains: relax\n    resources: {processes: 0}\n")
    with pytest.raises(ConfigError, match=r"rules\.0\.resources\.processes"):
        ResourcePolicy.from_file(bad)
    with pytest.raises(ConfigError, match="does not exist"):
        ResourcePolicy.from_file(tmp_path / "missing.yaml")


def test_example_resources_file_is_a_valid_policy():
    from pathlib import Path

    path = Path(__file__).parents[1] / "examples" / "queue" / "resources.yaml"
    policy = ResourcePolicy.from_file(path)
    assert {"batch", "local"} <= policy.workers()
    assert policy.resolve(relax_job()).worker == "batch"


def test_slurm_header_from_qtoolkit_carries_the_resources():
    from qtoolkit.io.slurm import SlurmIO

    header = SlurmIO().generate_header(BIG.to_qresources("slurm"))
    # 90.5 min rounds up to 5430 s = 1 h 30 min 30 s.
    for line in (
        "#SBATCH --ntasks=4",
        "#SBATCH --cpus-per-task=2",
        "#SBATCH --mem-per-cpu=1500",
        "#SBATCH --time=0-1:30:30",
        "#SBATCH --partition=compute",
        "#SBATCH --account=proj42",
    ):
        assert line in header.splitlines()
    assert BIG.environment() == {"OMP_NUM_THREADS": "2"}
    assert BIG.to_qresources("shell") == {}


def test_pbs_header_and_node_placement():
    from qtoolkit.io.pbs import PBSIO

    resources = JobResources(processes=8, nodes=2, time_limit_min=10)
    header = PBSIO().generate_header(resources.to_qresources("pbs"))
    assert "#PBS -l select=2:ncpus=4:mpiprocs=4" in header
    assert "#PBS -l walltime=0:10:0" in header
    with pytest.raises(ConfigError, match="processes=3 is not a multiple of nodes=2"):
        JobResources(processes=3, nodes=2).to_qresources("slurm")


def test_fireworks_queue_adapter_renders_the_resources(tmp_path):
    from fireworks.user_objects.queue_adapters.common_adapter import CommonAdapter

    keys = BIG.to_fireworks_qadapter("slurm")
    adapter = CommonAdapter("SLURM", **keys)
    script = adapter.get_script_str(str(tmp_path))
    for line in (
        "#SBATCH --ntasks=4",
        "#SBATCH --cpus-per-task=2",
        "#SBATCH --mem-per-cpu=1500",
        "#SBATCH --time=01:30:30",
        "#SBATCH --partition=compute",
    ):
        assert line in script.splitlines()
    pbs = JobResources(processes=6, nodes=2, memory_per_cpu_mb=800).to_fireworks_qadapter("pbs")
    assert pbs == {"nnodes": 2, "ppnode": 3, "pmem": "800mb"}
    with pytest.raises(ConfigError, match="not 'shell'"):
        BIG.to_fireworks_qadapter("shell")


def test_apply_policy_writes_backend_keys_and_rejects_unknown_workers():
    relax, small = relax_job(), add(1, 2)
    flow = Flow([relax, small])
    policy = ResourcePolicy(
        rules=[ResourceRule(maker="AseMaker", worker="batch", resources=BIG)],
        default_worker="local",
    )
    assignments = apply_policy(flow, policy, "jobflow-remote", {"batch": "slurm", "local": "shell"})
    assert assignments[relax.uuid].worker == "batch"
    config = relax.config.manager_config
    assert config["worker"] == "batch"
    assert config["resources"].threads_per_process == 2
    assert config["exec_config"] == {"export": {"OMP_NUM_THREADS": "2"}}
    assert small.config.manager_config["resources"] == {}

    apply_policy(flow, policy, "fireworks", {"batch": "slurm", "local": "shell"})
    assert relax.config.manager_config["_category"] == "batch"
    assert relax.config.manager_config["_queueadapter"]["ntasks"] == 4
    assert small.config.manager_config == {"_category": "local"}

    with pytest.raises(ConfigError, match="worker 'batch', which is not configured"):
        apply_policy(flow, policy, "fireworks", {"local": "shell"})


def test_jobs_created_at_run_time_follow_name_rules_or_inherit():
    parent = spawn(["probe heavy", "probe light"])
    policy = ResourcePolicy(
        rules=[ResourceRule(name_contains="heavy", worker="batch", resources=BIG)],
        default_worker="local",
    )
    apply_policy(parent, policy, "jobflow-remote", {"batch": "slurm", "local": "shell"})
    store = JobStore(MemoryStore())
    store.connect()
    response = parent.run(store)
    children = {job.name: job for job in response.replace.jobs}
    heavy = children["probe heavy"].config.manager_config
    light = children["probe light"].config.manager_config
    assert heavy["worker"] == "batch"
    assert heavy["resources"].processes == 4
    assert light["worker"] == "local"  # inherited from the parent
    assert light["resources"] == {}


def test_probe_job_reports_its_process():
    import os

    store = JobStore(MemoryStore())
    store.connect()
    job = where_am_i()
    response = job.run(store)
    assert response.output["pid"] == os.getpid()
    assert response.output["usable_cpus"] == len(os.sched_getaffinity(0))

"""Campaign configuration, settings and the store factory (including the MongoDB path)."""

from __future__ import annotations

import json

import pytest

from anodefree.config import load_config
from anodefree.errors import ConfigError, StoreError
from anodefree.settings import load_settings, redact_uri
from anodefree.workflows.stores import (
    SecretMongoStore,
    StoreSettings,
    make_job_store,
    resolve_backend,
)

URI = "mongodb://alice:s3cr3t-pw@db.example.org:27017/anodefree?authSource=admin"


def test_presets_load():
    default = load_config("default")
    assert default.engine.name == "chgnet"
    assert default.bulk_vacancy.repetitions == (3, 4, 5)
    assert load_config("cluster").solute_vacancy.repetitions == 5
    # The two expensive stages are opt-in: off by default, on in the interfaces preset.
    assert default.interface_defects is None
    assert default.migration is None
    interfaces = load_config("interfaces")
    assert interfaces.interface_defects.systems == ("Li/Li2S", "Li-Mg/Li2S", "Li-Ag/Li2S")
    assert interfaces.migration.interface_systems == ("Li/Li2S", "Li-Mg/Li2S")


def test_interface_stages_are_wired_into_the_campaign():
    from anodefree.config import config_from_dict
    from anodefree.workflows.campaign import build_campaign

    config = config_from_dict(
        {
            "engine": {"name": "morse"},
            "bulk": {"phases": ["Li", "Li2S"]},
            "bulk_vacancy": {"repetitions": [3, 4, 5]},
            "solute_vacancy": {"solutes": ["Mg"], "repetitions": 4, "shells": [1, 2]},
            "surfaces": None,
            "adhesion": {"systems": ["Li/Li2S"]},
            "hull": None,
            "interface_defects": {"systems": ["Li/Li2S"], "bond_energies": False},
            "migration": {"solutes": ["Mg"], "attempt_frequency": None},
        }
    )
    plan = build_campaign(config)
    assert list(plan.stages) == [
        "bulk",
        "bulk vacancy",
        "solute-vacancy",
        "adhesion",
        "interface defects",
        "migration",
    ]
    names = {flow.name for flow in plan.flow.jobs}
    assert {"interface defect host", "migration"} <= names
    for flow in plan.flow.jobs:
        assert flow.metadata["stage"] in plan.stages


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("engine: gaussian\n", "engine: unknown engine 'gaussian'"),
        ("bulk_vacancy: {repetitions: [3]}\n", "bulk_vacancy.repetitions"),
        ("solute_vacancy: {solutes: [Mg, Zz]}\n", "unknown element 'Zz'"),
        ("relax: {fmax: -0.1}\n", "relax.fmax"),
        ("relax: {optimizer: Newton}\n", "unknown optimizer 'Newton'"),
        ("bulk: {phases: [Li, Kryptonite]}\n", "Kryptonite"),
        ("nmae: typo\n", "nmae: Extra inputs are not permitted"),
        ("store: {backend: cassandra}\n", "store.backend"),
        ("- just\n- a list\n", "must be a mapping"),
        ("migration: {solutes: [Mg, Zz]}\n", "unknown element 'Zz'"),
        ("interface_defects: {systems: [Li/Li9Ag4]}\n", "interface_defects.systems"),
    ],
)
def test_malformed_configs_name_the_field_and_value(tmp_path, text, expected):
    path = tmp_path / "campaign.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert expected in str(info.value)


def test_yaml_is_loaded_safely(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text("name: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)


def test_missing_config_lists_presets():
    with pytest.raises(ConfigError, match="presets: cluster, default"):
        load_config("no-such-campaign.yaml")


def test_settings_from_file_and_environment(tmp_path, monkeypatch):
    settings_file = tmp_path / "settings.yaml"
    settings_file.write_text("data_dir: /scratch/me\nmongodb_database: results\n")
    monkeypatch.setenv("ANODEFREE_MONGODB_URI", URI)
    monkeypatch.delenv("ANODEFREE_DATA_DIR")
    settings = load_settings(settings_file)
    assert str(settings.data_dir) == "/scratch/me"
    assert settings.mongodb_database == "results"
    assert settings.mongodb_uri.get_secret_value() == URI
    assert "s3cr3t" not in repr(settings)
    assert "s3cr3t" not in str(settings.model_dump())
    settings_file.write_text("data_dir: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(settings_file)
    settings_file.write_text("mongo_uri: x\n")
    with pytest.raises(ConfigError, match="mongo_uri"):
        load_settings(settings_file)


def test_backend_resolution(monkeypatch):
    settings = load_settings()
    assert resolve_backend(StoreSettings(), settings) == "embedded"
    monkeypatch.setenv("ANODEFREE_MONGODB_URI", URI)
    assert resolve_backend(StoreSettings(), load_settings()) == "mongodb"
    assert resolve_backend(StoreSettings(backend="memory"), load_settings()) == "memory"


def test_uri_redaction():
    assert redact_uri(URI) == (
        "mongodb://alice:***@db.example.org:27017/anodefree?authSource=admin"
    )
    assert (
        redact_uri("mongodb+srv://u:p%40ss@c.mongodb.net/") == "mongodb+srv://u:***@c.mongodb.net/"
    )
    assert redact_uri("mongodb://localhost:27017") == "mongodb://localhost:27017"


def test_mongodb_store_never_holds_the_password(monkeypatch, caplog):
    monkeypatch.setenv("ANODEFREE_MONGODB_URI", URI)
    caplog.set_level("DEBUG")
    job_store = make_job_store(StoreSettings(backend="mongodb"))
    docs = job_store.docs_store
    assert isinstance(docs, SecretMongoStore)
    assert docs.name.startswith("mongodb://alice:***@db.example.org")
    serialised = json.dumps(job_store.as_dict(), default=str)
    assert "s3cr3t" not in serialised
    assert "ANODEFREE_MONGODB_URI" in serialised
    assert "s3cr3t" not in caplog.text


def test_mongodb_store_without_uri_fails_clearly(monkeypatch):
    monkeypatch.delenv("ANODEFREE_MONGODB_URI", raising=False)
    store = SecretMongoStore("anodefree", "outputs")
    with pytest.raises(StoreError, match="ANODEFREE_MONGODB_URI"):
        store.connect()


def test_mongodb_store_queries_like_the_embedded_one(monkeypatch):
    """The MongoDB code path runs for real against an in-process mongomock server."""
    import mongomock

    monkeypatch.setenv("ANODEFREE_MONGODB_URI", "mongodb://user:pw@mock.example:27017")
    client = mongomock.MongoClient()
    monkeypatch.setattr("maggma.stores.mongolike.MongoClient", lambda *_a, **_k: client)
    store = SecretMongoStore("anodefree", "outputs")
    store.connect()
    store.update([{"uuid": "u1", "output": {"cache_key": "k", "x": 1}}], key="uuid")
    assert store.query_one({"output.cache_key": "k"})["output"]["x"] == 1
    assert store.uri is None  # the URI is dropped again after connecting

"""Structure builders: bulk prototypes, alloys, slabs, interfaces, defects, NEB endpoints."""

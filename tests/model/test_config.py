"""The typed stack configuration: defaults from Pulumi.yaml, and one clear error per bad value."""

from __future__ import annotations

import pytest
import yaml

import lakehouse.model.pipelines as pipelines_mod
from lakehouse.model.config import (
    JOB_SETTING_KEYS,
    load_stack_config,
    parse_stack_config,
    project_schema,
    stack_file_values,
)
from lakehouse.model.errors import ConfigError
from lakehouse.model.pipelines import parse_pipeline
from lakehouse.model.platform import MANAGED_ARGUMENTS, external_code_argument

REQUIRED = {"environment": "dev", "owner": "data-platform", "costCenter": "cc-1"}


def problems_of(stack: str, values: dict) -> list[str]:
    with pytest.raises(ConfigError) as err:
        parse_stack_config(stack, values)
    return err.value.problems


def test_defaults_come_from_the_pulumi_yaml_schema():
    cfg = parse_stack_config("dev", REQUIRED)
    schema = project_schema()
    fhir_bronze = cfg.job_settings["fhir.bronze"]
    for config_key, field in JOB_SETTING_KEYS.items():
        assert getattr(fhir_bronze, field) == schema[config_key]["default"], config_key
    assert cfg.log_retention_days == schema["logRetentionDays"]["default"]
    assert cfg.buckets.force_destroy is False
    assert cfg.workflow.start_mode == "ON_DEMAND"
    assert cfg.database.mode == "create"


def test_every_schema_key_has_a_type_and_description():
    for key, decl in project_schema().items():
        assert decl["type"] in ("string", "integer", "boolean", "array"), key
        assert decl.get("description"), key


def test_pulumi_strings_are_coerced_to_declared_types():
    cfg = parse_stack_config("dev", {
        **{f"glue-lakehouse:{k}": v for k, v in REQUIRED.items()},
        "glue-lakehouse:numberOfWorkers": "5",
        "glue-lakehouse:autoScaling": "true",
        "glue-lakehouse:pipelines": '["fhir"]',
        "aws:region": "eu-west-1",  # other namespaces are not ours and are ignored
    })
    s = cfg.job_settings["fhir.silver"]
    assert (s.number_of_workers, s.auto_scaling) == (5, True)
    assert [p.name for p in cfg.pipelines] == ["fhir"]


def test_dev_stack_file_parses_to_small_flex_jobs_that_may_be_destroyed():
    cfg = load_stack_config("dev")
    assert cfg.environment == "dev" and cfg.tags["Environment"] == "dev"
    assert cfg.buckets.force_destroy is True
    assert {s.execution_class for s in cfg.job_settings.values()} == {"FLEX"}
    assert {s.worker_type for s in cfg.job_settings.values()} == {"G.1X"}
    assert cfg.log_retention_days == 7


def test_prod_stack_file_parses_to_autoscaling_flex_jobs_kept_on_destroy():
    cfg = load_stack_config("prod")
    assert cfg.buckets.force_destroy is False
    # sized from the benchmark (docs/benchmarks.md, "Glue cost projection"; tests/model/test_cost.py)
    assert {s.execution_class for s in cfg.job_settings.values()} == {"FLEX"}
    assert all(s.auto_scaling and s.worker_type == "G.1X" for s in cfg.job_settings.values())
    assert cfg.job_settings["fhir.bronze"].number_of_workers == 6  # per-stack overrides in fhir.yaml
    assert cfg.job_settings["fhir.gold"].number_of_workers == 3
    assert cfg.job_settings["fhir.maintain"].number_of_workers == 3  # the stack's default
    assert cfg.workflow.start_mode == "SCHEDULED" and cfg.workflow.schedule == "cron(0 2 * * ? *)"
    assert cfg.database.multi_az and cfg.database.deletion_protection
    assert cfg.log_retention_days == 365


def test_stack_file_values_are_read_from_the_file_not_copied():
    with open(pipelines_mod.REPO_ROOT / "Pulumi.prod.yaml") as fh:
        assert stack_file_values("prod") == yaml.safe_load(fh)["config"]


def test_unknown_stack_names_the_available_ones():
    with pytest.raises(ConfigError, match=r"stack: got 'qa'; allowed: .*\['dev', 'prod'\]"):
        stack_file_values("qa")


@pytest.mark.parametrize(
    "key, value, expected",
    [
        ("workerType", "G.9X", "glue-lakehouse:workerType: got 'G.9X'; allowed: G.1X | G.2X | G.4X | G.8X"),
        ("numberOfWorkers", "1", "glue-lakehouse:numberOfWorkers: got 1; allowed: a whole number from 2 to 299"),
        ("timeoutMinutes", "5000", "glue-lakehouse:timeoutMinutes: got 5000; allowed: a whole number from 1 to 2880"),
        ("timeoutMinutes", "soon", "glue-lakehouse:timeoutMinutes: got 'soon'; allowed: a whole number"),
        ("executionClass", "CHEAP", "glue-lakehouse:executionClass: got 'CHEAP'; allowed: STANDARD | FLEX"),
        ("environment", "qa", "glue-lakehouse:environment: got 'qa'; allowed: dev | staging | prod"),
        ("logRetentionDays", "10", "glue-lakehouse:logRetentionDays: got 10; allowed: 1 | 3 | 5 | 7 | 14 | 30"),
        ("forceDestroy", "yes", "glue-lakehouse:forceDestroy: got 'yes'; allowed: true | false"),
        ("pipelines", '["fhir", "nope"]', "pipelines: got 'nope'; allowed: one of the declared pipelines"),
        ("workflowStartMode", "HOURLY",
         "glue-lakehouse:workflowStartMode: got 'HOURLY'; allowed: ON_DEMAND | SCHEDULED | EVENT"),
        ("rawTransitionIaDays", "10", "glue-lakehouse:rawTransitionIaDays: got 10; allowed: 0 (never) or 30-3650"),
        ("colour", "blue", "glue-lakehouse:colour: got 'blue'; allowed: one of the keys declared in Pulumi.yaml"),
    ],
)
def test_a_bad_value_names_key_value_and_allowed_values(key, value, expected):
    found = problems_of("dev", {**REQUIRED, key: value})
    assert any(p.startswith(expected) for p in found), found


def test_missing_required_tag_is_named():
    found = problems_of("dev", {"environment": "dev", "costCenter": "cc-1"})
    assert found == ["glue-lakehouse:owner: got None; allowed: a value in Pulumi.dev.yaml "
                     "(required: Team or person owning the stack (Owner tag, required))"]


def test_blank_required_tag_is_refused():
    assert problems_of("dev", {**REQUIRED, "costCenter": "  "}) == [
        "glue-lakehouse:costCenter: got '  '; allowed: a non-empty tag value (required tag)"]


def test_flex_needs_small_workers():
    found = problems_of("dev", {**REQUIRED, "executionClass": "FLEX", "workerType": "G.4X"})
    assert found == ["glue-lakehouse:workerType: got 'G.4X'; allowed: G.1X | G.2X with executionClass FLEX"]


def test_prod_never_force_destroys():
    found = problems_of("prod", {**REQUIRED, "environment": "prod", "forceDestroy": True})
    assert found == ["glue-lakehouse:forceDestroy: got True; allowed: false in prod: "
                     "buckets holding lake data are never force-destroyed"]


def test_every_problem_is_reported_at_once():
    found = problems_of("dev", {**REQUIRED, "workerType": "X", "numberOfWorkers": 0, "maxRetries": 99})
    assert [p.split(":")[1] for p in found] == ["workerType", "numberOfWorkers", "maxRetries"]


def test_existing_network_and_database_need_their_ids():
    found = problems_of("dev", {**REQUIRED, "createNetwork": False, "databaseMode": "existing"})
    keys = [p.split(": got")[0] for p in found]
    assert keys == ["glue-lakehouse:vpcId", "glue-lakehouse:subnetIds",
                    "glue-lakehouse:existingDbEndpoint", "glue-lakehouse:existingDbSecretArn"]


def test_created_network_refuses_existing_ids():
    found = problems_of("dev", {**REQUIRED, "vpcId": "vpc-0123456789abcdef0"})
    assert found == ["glue-lakehouse:vpcId/subnetIds: got 'vpc-0123456789abcdef0'; allowed: empty when "
                     "createNetwork is true (set createNetwork: false to use an existing VPC)"]


def test_existing_network_with_valid_ids_is_accepted():
    cfg = parse_stack_config("dev", {
        **REQUIRED, "createNetwork": False, "vpcId": "vpc-0123456789abcdef0",
        "subnetIds": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
        "databaseMode": "existing", "existingDbEndpoint": "db.example.internal:5432",
        "existingDbSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:lake-db-AbCdEf",
    })
    assert cfg.network.subnet_ids == ("subnet-0123456789abcdef0", "subnet-0123456789abcdef1")
    assert cfg.database.existing_endpoint == "db.example.internal:5432"


# --- pipeline declarations ------------------------------------------------------------

@pytest.fixture
def scripts_dir(tmp_path, monkeypatch):
    """A glue_scripts/ folder of our own so declarations can name scripts that exist."""
    for name in ("a.py", "b.py", "c.py"):
        (tmp_path / name).write_text("")
    monkeypatch.setattr(pipelines_mod, "GLUE_SCRIPTS_DIR", tmp_path)
    return tmp_path


def job(name, deps=(), **extra):
    return {"name": name, "script": "a.py", "depends_on": list(deps),
            "writes": [{"zone": "bronze", "tables": [f"{name}_t"]}], **extra}


def pipeline_problems(jobs) -> list[str]:
    with pytest.raises(ConfigError) as err:
        parse_pipeline({"name": "p", "jobs": jobs}, "p.yaml")
    return err.value.problems


def test_a_job_depending_on_an_unknown_job_is_named(scripts_dir):
    assert pipeline_problems([job("a"), job("b", ["zz"])]) == [
        "p.yaml: jobs.b.depends_on: got 'zz'; allowed: jobs of pipeline 'p': ['a', 'b']"]


def test_a_cycle_is_named_with_its_path(scripts_dir):
    assert pipeline_problems([job("a"), job("b", ["c"]), job("c", ["b"])]) == [
        "p.yaml: jobs.b.depends_on: got 'b -> c -> b'; allowed: an acyclic graph "
        "(a job may not wait on itself through others)"]


def test_duplicate_job_names_are_refused(scripts_dir):
    assert pipeline_problems([job("a"), job("a")]) == [
        "p.yaml: jobs.a.name: got 'a'; allowed: a job name used once per pipeline"]


def test_a_job_waiting_on_itself_is_refused(scripts_dir):
    assert pipeline_problems([job("a"), job("b", ["b"])]) == [
        "p.yaml: jobs.b.depends_on: got 'b'; allowed: other jobs of the pipeline, not the job itself"]


def test_a_missing_script_is_named(scripts_dir):
    found = pipeline_problems([{**job("a"), "script": "nope.py"}])
    assert found == ["p.yaml: jobs.a.script: got 'nope.py'; allowed: an existing file under " + scripts_dir.name + "/"]


def test_raw_zone_holds_files_not_tables(scripts_dir):
    found = pipeline_problems([{**job("a"), "reads": [{"zone": "raw", "tables": ["x"]}]}])
    assert found == ["p.yaml: jobs.a.reads[0].tables: got ['x']; "
                     "allowed: none: the raw zone holds files, declare prefixes"]


def test_a_database_access_is_postgres_tables_on_the_connection(scripts_dir):
    spec = parse_pipeline({"name": "p", "jobs": [{**job("a"), "connection": True,
                                                   "writes": [{"database": "postgres", "tables": ["locations"]}]}]},
                          "p.yaml")
    (written,) = spec.job("a").writes
    assert (written.zone, written.tables, written.in_lake) == ("postgres", ("locations",), False)
    assert spec.job("a").zones() == ()  # no lake zone: no --<zone>_path argument, no bucket grant


@pytest.mark.parametrize("access, connection, problem", [
    ({"database": "postgres", "tables": ["t"]}, False,
     "p.yaml: jobs.a.connection: got False; allowed: true: the job declares database ['postgres']"),
    ({"database": "mysql", "tables": ["t"]}, True,
     "p.yaml: jobs.a.writes[0].database: got 'mysql'; allowed: postgres with tables only (no zone or prefixes)"),
    ({"database": "postgres", "prefixes": ["x/"]}, True,
     "p.yaml: jobs.a.writes[0].database: got 'postgres'; allowed: postgres with tables only (no zone or prefixes)"),
    ({"zone": "gold", "tables": ["t"]}, True,
     "p.yaml: jobs.a.connection: got True; allowed: false, or declare the tables it reads or writes as "
     "{database: postgres, tables: [...]}"),
])
def test_a_database_access_needs_the_connection_and_the_connection_a_database(scripts_dir, access, connection,
                                                                               problem):
    found = pipeline_problems([{**job("a"), "connection": connection, "writes": [access]}])
    assert problem in found


# --extra-files, which the platform sets itself, is refused as outside code (the test below)
@pytest.mark.parametrize("managed", sorted(k for k in MANAGED_ARGUMENTS if not external_code_argument(k))
                         + ["--gold_path", "--bronze_database"])
def test_platform_managed_arguments_cannot_be_declared(scripts_dir, managed):
    found = pipeline_problems([job("a", arguments={managed: "x"})])
    assert len(found) == 1 and found[0].startswith(
        f"p.yaml: jobs.a.arguments.{managed}: got 'x'; allowed: no platform-managed argument")


def test_topological_order_and_waves_follow_the_dag(scripts_dir):
    spec = parse_pipeline({"name": "p", "jobs": [
        job("metrics", ["climate", "health"]), job("locations"), job("climate", ["locations"]),
        job("health", ["locations"])]}, "p.yaml")
    # the table-maintenance job the platform adds waits for the last job (model/test_maintenance.py)
    assert [j.name for j in spec.topological_order()] == ["locations", "climate", "health", "metrics", "maintain"]
    assert [[j.name for j in w] for w in spec.waves()] == [["locations"], ["climate", "health"], ["metrics"],
                                                           ["maintain"]]


def test_job_settings_in_a_pipeline_are_validated_per_stack(scripts_dir, monkeypatch, tmp_path):
    pdir = tmp_path / "pipelines"
    pdir.mkdir()
    (pdir / "p.yaml").write_text(yaml.safe_dump({"name": "p", "jobs": [
        job("a", settings={"numberOfWorkers": 1}, stacks={"prod": {"workerType": "G.16X"}})]}))
    monkeypatch.setattr(pipelines_mod, "PIPELINES_DIR", pdir)
    found = problems_of("prod", {**REQUIRED, "environment": "prod", "pipelines": ["p"]})
    assert found == [
        f"{pdir / 'p.yaml'}: jobs.a.settings/stacks.prod.workerType: got 'G.16X'; allowed: G.1X | G.2X | G.4X | G.8X",
        f"{pdir / 'p.yaml'}: jobs.a.settings/stacks.prod.numberOfWorkers: got 1; allowed: a whole number from 2 to 299",
    ]


def test_an_existing_database_needs_an_existing_network():
    found = problems_of("dev", {
        **REQUIRED, "databaseMode": "existing", "existingDbEndpoint": "db.example.internal:5432",
        "existingDbSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:lake-db-AbCdEf"})
    assert found == ["glue-lakehouse:databaseMode: got 'existing'; allowed: create | none when createNetwork is "
                     "true (a VPC made here cannot reach an outside database; set createNetwork: false with "
                     "its vpcId and subnetIds)"]


def test_readme_configuration_reference_lists_every_key_with_its_default():
    readme = (pipelines_mod.REPO_ROOT / "README.md").read_text()
    for key, decl in project_schema().items():
        row = next((line for line in readme.splitlines() if line.startswith(f"| `{key}` |")), None)
        assert row is not None, f"README configuration reference lacks {key}"
        if "default" in decl and decl["default"] not in ("", [], False, True):
            default = decl["default"]
            shown = "[" + ", ".join(default) + "]" if isinstance(default, list) else str(default)
            assert f"`{shown}`" in row, (key, row)


# --- issue 20: nothing unknown or malformed is silently accepted ----------------------------

@pytest.mark.parametrize("key, value, expected", [
    ("glue-lakehouse:alertEmial", "ops@example.com",
     "glue-lakehouse:alertEmial: got 'ops@example.com'; allowed: one of the keys declared in Pulumi.yaml "
     "(did you mean glue-lakehouse:alertEmail?)"),
    ("glue-lakehouse:dbDeletionProtecton", True,
     "glue-lakehouse:dbDeletionProtecton: got True; allowed: one of the keys declared in Pulumi.yaml "
     "(did you mean glue-lakehouse:dbDeletionProtection?)"),
    ("glue-lakehuose:owner", "data-platform",
     "glue-lakehuose:owner: got 'data-platform'; allowed: a key of the namespaces glue-lakehouse (the keys of "
     "Pulumi.yaml), aws (aws:region) or pulumi (did you mean glue-lakehouse:owner?)"),
    ("aws:regoin", "eu-west-1",
     "aws:regoin: got 'eu-west-1'; allowed: aws:region, the one aws: key the program reads (the stack's "
     "provider takes nothing else from the stack config) (did you mean aws:region?)"),
    ("aws:profile", "prod-admin",
     "aws:profile: got 'prod-admin'; allowed: aws:region, the one aws: key the program reads (the stack's "
     "provider takes nothing else from the stack config)"),
])
def test_unknown_keys_and_namespaces_are_refused_naming_the_closest_known_key(key, value, expected):
    found = problems_of("dev", {**{f"glue-lakehouse:{k}": v for k, v in REQUIRED.items()},
                                "aws:region": "us-east-1", key: value})
    assert found == [expected]


def test_the_aws_region_and_the_engine_namespace_are_accepted():
    cfg = parse_stack_config("dev", {**REQUIRED, "aws:region": "eu-west-1",
                                     "pulumi:disable-default-providers": '["*"]'})
    assert cfg.stack == "dev"


@pytest.mark.parametrize("key, value, expected", [
    ("owner", None, "glue-lakehouse:owner: got None; allowed: a string in Pulumi.dev.yaml, not null "
                    "(required: Team or person owning the stack (Owner tag, required))"),
    ("owner", "null", "glue-lakehouse:owner: got 'null'; allowed: a string in Pulumi.dev.yaml, not null "
                      "(required: Team or person owning the stack (Owner tag, required))"),
    ("dbName", None, "glue-lakehouse:dbName: got None; allowed: a string, not null "
                     "(remove the key for the default 'lakehouse')"),
    ("numberOfWorkers", "null", "glue-lakehouse:numberOfWorkers: got 'null'; allowed: a whole number, not null "
                                "(remove the key for the default 2)"),
])
def test_a_null_value_is_refused_not_turned_into_the_text_null(key, value, expected):
    assert problems_of("dev", {**REQUIRED, key: value}) == [expected]


@pytest.mark.parametrize("mode", ["SCHEDULED", "ON_DEMAND"])
def test_a_schedule_outside_the_aws_cron_grammar_is_named_with_the_rules_it_breaks(mode):
    found = problems_of("prod", {**REQUIRED, "environment": "prod", "workflowStartMode": mode,
                                 "workflowSchedule": "cron(99 99 * * * *)"})
    assert found == [
        "glue-lakehouse:workflowSchedule: got 'cron(99 99 * * * *)'; allowed: a Glue cron expression "
        "cron(minutes hours day-of-month month day-of-week year) in UTC, e.g. cron(0 2 * * ? *); broken: "
        "minutes: 99 is not 0-59; hours: 99 is not 0-23; day-of-month and day-of-week: one of them must be ? "
        "(AWS cannot combine them)"]


def test_a_pipeline_entry_that_is_a_mapping_is_named_not_a_type_error():
    found = problems_of("dev", {**REQUIRED, "pipelines": [{"name": "fhir"}]})
    assert found == ["glue-lakehouse:pipelines[0]: got {'name': 'fhir'}; allowed: a string "
                     "(Pipelines to deploy, by file name in pipelines/ (e.g. fhir))"]
    found = problems_of("dev", {**REQUIRED, "pipelines": '[{"name": "fhir"}, "climate"]'})  # as Pulumi hands it
    assert found == ["glue-lakehouse:pipelines[0]: got {'name': 'fhir'}; allowed: a string "
                     "(Pipelines to deploy, by file name in pipelines/ (e.g. fhir))"]


@pytest.mark.parametrize("entry", ["pipelines/fhir.yaml", "../pipelines/fhir", "/etc/hosts.yaml"])
def test_a_pipeline_entry_is_a_name_in_pipelines_not_a_path(entry, monkeypatch):
    monkeypatch.chdir(pipelines_mod.REPO_ROOT)
    assert problems_of("dev", {**REQUIRED, "pipelines": [entry]}) == [
        f"pipelines: got {entry!r}; allowed: one of the declared pipelines ['climate', 'fhir', 'orders']"]


def pipelines_dir(tmp_path, monkeypatch, files: dict[str, dict]):
    pdir = tmp_path / "pipelines"
    pdir.mkdir()
    for stem, doc in files.items():
        (pdir / f"{stem}.yaml").write_text(yaml.safe_dump(doc))
    monkeypatch.setattr(pipelines_mod, "PIPELINES_DIR", pdir)
    return pdir


def test_two_pipeline_files_declaring_one_name_are_refused(scripts_dir, monkeypatch, tmp_path):
    pdir = pipelines_dir(tmp_path, monkeypatch, {"p": {"name": "p", "jobs": [job("a")]},
                                                 "q": {"name": "p", "jobs": [job("b")]}})
    assert problems_of("dev", {**REQUIRED, "pipelines": ["p", "q"]}) == [
        f"{pdir / 'q.yaml'}: name: got 'p'; allowed: a pipeline name no other deployed pipeline declares "
        f"({pdir / 'p.yaml'} declares 'p'; its jobs, roles and workflow are named after it)"]


def test_a_per_stack_override_for_an_unknown_stack_is_named(scripts_dir, monkeypatch, tmp_path):
    pdir = pipelines_dir(tmp_path, monkeypatch, {"p": {"name": "p", "jobs": [
        job("a", stacks={"prdo": {"numberOfWorkers": 4}, "prod": {"numberOfWorkers": 4}})]}})
    assert problems_of("dev", {**REQUIRED, "pipelines": ["p"]}) == [
        f"{pdir / 'p.yaml'}: jobs.a.stacks: got 'prdo'; allowed: a stack with a Pulumi.<stack>.yaml: "
        "['dev', 'prod'] (did you mean prod?)"]


def test_the_running_stack_may_be_overridden_without_a_stack_file(scripts_dir, monkeypatch, tmp_path):
    pipelines_dir(tmp_path, monkeypatch, {"p": {"name": "p", "jobs": [job("a", stacks={"qa": {"maxRetries": 2}})]}})
    cfg = parse_stack_config("qa", {**REQUIRED, "pipelines": ["p"]})  # config held by the backend, not a file
    assert cfg.job_settings["p.a"].max_retries == 2


def test_a_script_outside_glue_scripts_is_refused(scripts_dir):
    outside = scripts_dir.parent / f"outside_{scripts_dir.name}.py"
    outside.write_text("")
    (scripts_dir / "link.py").symlink_to(outside)
    allowed = f"a .py path relative to {scripts_dir.name}/ that stays inside it (no absolute path, no ..)"
    for script in (f"../{outside.name}", str(outside), "link.py"):
        assert pipeline_problems([{**job("a"), "script": script}]) == [
            f"p.yaml: jobs.a.script: got {script!r}; allowed: {allowed}"], script


@pytest.mark.parametrize("argument", ["--extra-jars", "--additional-python-modules", "--extra-files",
                                      "--python-modules-installer-option", "--user-jars-first",
                                      "--scriptLocation", "--Extra-Jars"])
def test_arguments_that_load_code_from_outside_the_repository_are_refused(scripts_dir, argument):
    found = pipeline_problems([job("a", arguments={argument: "s3://elsewhere/x"})])
    assert len(found) == 1 and found[0].startswith(
        f"p.yaml: jobs.a.arguments.{argument}: got 's3://elsewhere/x'; allowed: no argument that loads code "
        "from outside the repository"), found
    assert found[0].endswith("; jobs run only code under glue_scripts/ (lakelib ships with every job)")


# --- issue 18: monitoring thresholds ---------------------------------------------------------

@pytest.mark.parametrize("key, value, expected", [
    ("quarantineShareAlarmPercent", "0",
     "glue-lakehouse:quarantineShareAlarmPercent: got 0; allowed: a whole number from 1 to 100"),
    ("quarantineShareAlarmPercent", "101",
     "glue-lakehouse:quarantineShareAlarmPercent: got 101; allowed: a whole number from 1 to 100"),
    ("rdsCpuAlarmPercent", "0", "glue-lakehouse:rdsCpuAlarmPercent: got 0; allowed: a whole number from 1 to 100"),
    ("rdsCpuAlarmPercent", "150", "glue-lakehouse:rdsCpuAlarmPercent: got 150; allowed: a whole number from 1 to 100"),
    ("rdsFreeStorageAlarmGb", "0", "glue-lakehouse:rdsFreeStorageAlarmGb: got 0; allowed: a whole number from 1 to 19 "
     "(below dbAllocatedStorageGb = 20"),
    ("rdsFreeStorageAlarmGb", "20", "glue-lakehouse:rdsFreeStorageAlarmGb: got 20; allowed: a whole number from 1 "
     "to 19 (below dbAllocatedStorageGb = 20"),
])
def test_monitoring_thresholds_out_of_range_name_key_value_and_range(key, value, expected):
    found = problems_of("dev", {**REQUIRED, key: value})
    assert any(p.startswith(expected) for p in found), found


def test_the_free_storage_threshold_follows_the_allocated_storage():
    cfg = parse_stack_config("dev", {**REQUIRED, "dbAllocatedStorageGb": "100", "rdsFreeStorageAlarmGb": "99"})
    assert cfg.monitoring.rds_free_storage_gb == 99
    found = problems_of("dev", {**REQUIRED, "dbAllocatedStorageGb": "100", "rdsFreeStorageAlarmGb": "100"})
    assert any(p.startswith("glue-lakehouse:rdsFreeStorageAlarmGb: got 100; allowed: a whole number from 1 to 99")
               for p in found), found


def test_both_stack_files_set_the_monitoring_thresholds():
    dev, prod = load_stack_config("dev").monitoring, load_stack_config("prod").monitoring
    assert (dev.quarantine_share_percent, dev.rds_cpu_percent, dev.rds_free_storage_gb) == (20, 90, 4)
    assert (prod.quarantine_share_percent, prod.rds_cpu_percent, prod.rds_free_storage_gb) == (5, 80, 15)
    assert parse_stack_config("dev", REQUIRED).monitoring.quarantine_share_percent == 5  # Pulumi.yaml's default

"""Operate a deployed stack with boto3: upload raw data, start, watch and list runs, verify.

    python -m lakehouse.ops [--stack dev | --outputs outputs.json] <command> ...

Commands: upload, start, watch, runs, verify (docs/operations.md), cost (docs/cost.md: no AWS
needed). Exit codes: 0 success,
1 a run or a check failed, 2 the tool could not do its job (options, outputs,
credentials, region, AWS errors), 130 interrupted.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Sequence

import yaml
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)
from rich.console import Console
from rich.table import Table

from ..model import cost as model_cost
from ..model.config import load_stack_config, stack_file_values
from ..model.errors import ConfigError
from ..model.pipelines import load_pipeline
from . import runs as ops_runs
from . import state_machines as sfn
from .aws import RETRY_MODES, Aws, OpsError, StackOutputs, connect, error_code, is_not_found, load_outputs
from .verify import verify

EXIT_OK, EXIT_FAILED, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130
THROTTLING_CODES = {"ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded",
                    "SlowDown", "ProvisionedThroughputExceededException", "RequestThrottled"}
CREDENTIAL_CODES = {"ExpiredToken", "ExpiredTokenException", "UnrecognizedClientException", "InvalidClientTokenId",
                    "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken"}
NO_CREDENTIALS = (
    "no AWS credentials found. Configure them one of these ways, then rerun:\n"
    "  - aws configure --profile NAME (or aws sso login --profile NAME), then --profile NAME or AWS_PROFILE=NAME\n"
    "  - export AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials)\n"
    "  - in CI / Pulumi Deployments, assume a role through OIDC"
)
SHA256_META = "sha256"  # object metadata key (x-amz-meta-sha256) holding the content hash


# --- upload ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Upload:
    path: Path
    key: str
    sha256: str
    size: int
    status: str = ""  # new | unchanged | changed | replaced | uploaded


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def normalise_prefix(prefix: str) -> str:
    prefix = prefix.strip().lstrip("/")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    if any(part in ("..", ".") for part in PurePosixPath(prefix).parts):
        raise OpsError(f"--prefix {prefix!r}: no '.' or '..' segments")
    return prefix


def plan_uploads(paths: Sequence[str], prefix: str) -> list[Upload]:
    """Files to upload and their keys: prefix + path relative to the given folder (or file name)."""
    prefix = normalise_prefix(prefix)
    out: list[Upload] = []
    for p in map(Path, paths):
        if p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.is_file()
                           and not any(part.startswith(".") for part in f.relative_to(p).parts))
            pairs = [(f, f.relative_to(p).as_posix()) for f in files]
            if not pairs:
                raise OpsError(f"{p}: folder holds no files")
        elif p.is_file():
            pairs = [(p, p.name)]
        else:
            raise OpsError(f"{p}: no such file or folder")
        out += [Upload(f, prefix + rel, sha256_of(f), f.stat().st_size) for f, rel in pairs]
    keys = [u.key for u in out]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise OpsError(f"several files map to the same key: {dupes}")
    return out


def existing_sha256(s3: Any, bucket: str, key: str) -> str | None:
    """The stored hash of an object, "" when it exists without one, None when absent."""
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except ClientError as e:
        if is_not_found(e):
            return None
        raise
    return head.get("Metadata", {}).get(SHA256_META, "")


def upload(aws: Aws, outputs: StackOutputs, paths: Sequence[str], prefix: str, replace: bool) -> list[Upload]:
    """Put files into the raw zone with the stack's KMS key; content already there is skipped.

    Raw files are immutable inputs (bronze records which files it ingested), so a key
    holding different content is refused unless --replace.
    """
    bucket, key_arn = outputs.item("buckets", "raw"), str(outputs.get("kmsKeyArn"))
    planned = plan_uploads(paths, prefix)
    checked = []
    for u in planned:
        try:
            stored = existing_sha256(aws.s3, bucket, u.key)
        except ClientError as e:
            if error_code(e) == "NoSuchBucket":
                raise aws.not_found("raw bucket", bucket) from None
            if error_code(e) in ("403", "AccessDenied"):
                raise OpsError(f"access denied reading s3://{bucket}/{u.key} (HeadObject): uploading needs "
                               f"s3:GetObject, s3:PutObject and s3:ListBucket on the raw bucket (without "
                               f"ListBucket S3 answers 403 for keys that do not exist) and "
                               f"kms:GenerateDataKey on the stack key") from None
            raise
        status = "new" if stored is None else "unchanged" if stored == u.sha256 else "changed"
        checked.append(Upload(u.path, u.key, u.sha256, u.size, status))
    conflicts = [u for u in checked if u.status == "changed"]
    if conflicts and not replace:
        raise OpsError(
            "these keys already hold different content (raw files are immutable: bronze tracks what it "
            "ingested): " + ", ".join(f"s3://{bucket}/{u.key}" for u in conflicts)
            + ". Upload into a new batch folder (--prefix fhir/batch-NNNN/) or pass --replace"
        )
    done = []
    for u in checked:
        if u.status == "unchanged":
            done.append(u)
            continue
        aws.s3.upload_file(str(u.path), bucket, u.key, ExtraArgs={
            "ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key_arn, "Metadata": {SHA256_META: u.sha256}})
        done.append(Upload(u.path, u.key, u.sha256, u.size, "replaced" if u.status == "changed" else "uploaded"))
    return done


# --- start, watch, runs ---------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    pipeline: str
    job: str | None  # a pipeline job name, or None for the whole pipeline
    glue_name: str  # the Glue workflow or job name; the state machine's name
    machine_arn: str | None = None  # the whole pipeline, run by a Step Functions state machine


def runs_on_state_machine(outputs: StackOutputs, pipeline: str) -> bool:
    """The stack's stateMachines output names it, or its declaration says orchestrator: step_functions."""
    if pipeline in (outputs.values.get(sfn.OUTPUT) or {}):
        return True
    try:
        return load_pipeline(pipeline).orchestrator == "step_functions"
    except ConfigError:
        return False


def resolve(outputs: StackOutputs, pipeline: str, job: str | None) -> Target:
    if job:
        return Target(pipeline, job, outputs.item("jobs", f"{pipeline}.{job}"))
    if runs_on_state_machine(outputs, pipeline):
        arn = outputs.item(sfn.OUTPUT, pipeline)
        return Target(pipeline, None, sfn.machine_name(arn), arn)
    return Target(pipeline, None, outputs.item("workflows", pipeline))


def pipeline_jobs(outputs: StackOutputs, pipeline: str) -> list[tuple[str, str]]:
    """(job name, Glue job name) in DAG order when the declaration loads, else output order."""
    jobs = outputs.get("jobs")
    names = [k.split(".", 1)[1] for k in jobs if k.startswith(pipeline + ".")]
    try:
        names = [j.name for j in load_pipeline(pipeline).topological_order() if f"{pipeline}.{j.name}" in jobs]
    except ConfigError:
        pass
    return [(n, str(jobs[f"{pipeline}.{n}"])) for n in names]


def start(aws: Aws, target: Target) -> str:
    if target.machine_arn:
        return sfn.start(aws, target.machine_arn, target.pipeline)
    try:
        if target.job:
            return aws.glue.start_job_run(JobName=target.glue_name)["JobRunId"]
        return aws.glue.start_workflow_run(Name=target.glue_name)["RunId"]
    except ClientError as e:
        if is_not_found(e):
            raise aws.not_found("Glue job" if target.job else "Glue workflow", target.glue_name) from None
        if error_code(e) == "ConcurrentRunsExceededException":
            raise OpsError(f"{target.glue_name} is already running as often as it may (max concurrent runs); "
                           f"watch it: python -m lakehouse.ops watch {target.pipeline}"
                           + (f" --job {target.job}" if target.job else "")) from None
        raise


def latest_run_id(aws: Aws, target: Target) -> str:
    if target.machine_arn:
        return sfn.latest_execution(aws, target.machine_arn, target.pipeline)
    try:
        if target.job:
            runs = aws.glue.get_job_runs(JobName=target.glue_name, MaxResults=10)["JobRuns"]
            run_ids = [r["Id"] for r in sorted(runs, key=lambda r: r["StartedOn"], reverse=True)]
        else:
            runs = aws.glue.get_workflow_runs(Name=target.glue_name, MaxResults=10)["Runs"]
            run_ids = [r["WorkflowRunId"] for r in sorted(runs, key=lambda r: r["StartedOn"], reverse=True)]
    except ClientError as e:
        if is_not_found(e):
            raise aws.not_found("Glue job" if target.job else "Glue workflow", target.glue_name) from None
        raise
    if not run_ids:
        raise OpsError(f"{target.glue_name} has no runs yet; start one: python -m lakehouse.ops start {target.pipeline}"
                       + (f" --job {target.job}" if target.job else ""))
    return run_ids[0]


def status_fetcher(aws: Aws, outputs: StackOutputs, target: Target, run_id: str) -> Callable[[], ops_runs.RunStatus]:
    """A function returning the run's current status; reads Glue through the ops_runs seams."""
    if target.job:
        return lambda: ops_runs.job_status(target.job, target.glue_name,
                                           ops_runs.fetch_job_run(aws.glue, target.glue_name, run_id))
    jobs = pipeline_jobs(outputs, target.pipeline)
    if target.machine_arn:
        return sfn.status_fetcher(aws, target.machine_arn, run_id, jobs)
    return lambda: ops_runs.workflow_status(target.glue_name,
                                            ops_runs.fetch_workflow_run(aws.glue, target.glue_name, run_id), jobs)


def watch(aws: Aws, outputs: StackOutputs, target: Target, run_id: str, console: Console,
          interval: float, sleep: Callable[[float], None]) -> int:
    fetch = status_fetcher(aws, outputs, target, run_id)
    try:
        status = ops_runs.watch(fetch, console, interval, sleep)
    except ClientError as e:
        if is_not_found(e):
            raise aws.not_found(f"run {run_id} of", target.glue_name) from None
        raise
    except KeyboardInterrupt:
        console.print(f"stopped watching; the run goes on: python -m lakehouse.ops watch {target.pipeline} {run_id}"
                      + (f" --job {target.job}" if target.job else ""))
        return EXIT_INTERRUPTED
    console.print(ops_runs.summary(status), style="bold red" if status.failed else "bold green", soft_wrap=True)
    return EXIT_FAILED if status.failed else EXIT_OK


def runs_table(aws: Aws, target: Target, limit: int) -> Table:
    if target.machine_arn:
        return sfn.runs_table(aws, target.machine_arn, limit)
    try:
        if target.job:
            runs = aws.glue.get_job_runs(JobName=target.glue_name, MaxResults=limit)["JobRuns"]
        else:
            runs = aws.glue.get_workflow_runs(Name=target.glue_name, MaxResults=limit, IncludeGraph=False)["Runs"]
    except ClientError as e:
        if is_not_found(e):
            raise aws.not_found("Glue job" if target.job else "Glue workflow", target.glue_name) from None
        raise
    runs = sorted(runs, key=lambda r: r["StartedOn"], reverse=True)[:limit]
    table = Table(title=f"recent runs of {target.glue_name}", title_justify="left")
    if target.job:
        for col in ("Run id", "Started", "State", "Attempt", "Duration", "DPU-seconds", "Error"):
            table.add_column(col, overflow="fold")
        for r in runs:
            row = ops_runs.job_row(target.job, r, datetime.now(timezone.utc))
            table.add_row(row.run_id, f"{r['StartedOn']:%Y-%m-%d %H:%M:%S}", row.state, str(row.attempt),
                          ops_runs.fmt_seconds(row.seconds), ops_runs.fmt_dpu(row), row.error)
    else:
        for col in ("Run id", "Started", "Status", "Duration", "Succeeded", "Failed", "Total actions", "Error"):
            table.add_column(col, overflow="fold")
        for r in runs:
            end = r.get("CompletedOn") or datetime.now(timezone.utc)
            stats = r.get("Statistics") or {}
            failed = sum(int(stats.get(k) or 0)
                         for k in ("FailedActions", "TimeoutActions", "ErroredActions", "StoppedActions"))
            table.add_row(r["WorkflowRunId"], f"{r['StartedOn']:%Y-%m-%d %H:%M:%S}", r["Status"],
                          ops_runs.fmt_seconds((end - r["StartedOn"]).total_seconds()),
                          str(stats.get("SucceededActions", "-")), str(failed) if stats else "-",
                          str(stats.get("TotalActions", "-")), r.get("ErrorMessage", ""))
    if not runs:
        table.caption = "no runs yet"
    return table


# --- command line ---------------------------------------------------------------------

def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m lakehouse.ops", description=__doc__.split("\n\n")[0])
    p.add_argument("--stack",
                   help="Pulumi stack (reads `pulumi stack output --json --stack STACK` and Pulumi.STACK.yaml)")
    p.add_argument("--outputs", metavar="FILE", help="stack outputs as JSON (from `pulumi stack output --json`)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="set or override an output, e.g. region=us-east-1, buckets.raw=NAME, jobs.fhir.bronze=NAME")
    p.add_argument("--profile", help="AWS profile (default: AWS_PROFILE or the default credentials chain)")
    p.add_argument("--region", help="AWS region; must match the stack's 'region' output when it has one")
    p.add_argument("--retry-mode", choices=RETRY_MODES, default="standard",
                   help="botocore retry mode for throttled calls (default standard)")
    p.add_argument("--max-attempts", type=int, default=10, help="attempts per AWS call, retries included (default 10)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = sub.add_parser("upload", help="upload files to the raw zone (KMS-encrypted, unchanged files skipped)")
    up.add_argument("paths", nargs="+", help="files or folders (folders keep their relative paths)")
    up.add_argument("--prefix", default="", help="key prefix in the raw bucket, e.g. fhir/batch-0001/")
    up.add_argument("--replace", action="store_true", help="overwrite keys holding different content")

    for name, help_ in (("start", "start a pipeline's workflow run or execution (or one job with --job)"),
                        ("watch", "watch a run to its end (default: the latest run)"),
                        ("runs", "list recent runs of a pipeline's workflow or state machine "
                                 "(or of one job with --job)")):
        c = sub.add_parser(name, help=help_)
        c.add_argument("pipeline", help="pipeline name, e.g. fhir")
        if name == "watch":
            c.add_argument("run_id", nargs="?", help="workflow run id (wr_...), execution ARN (step_functions "
                                                     "pipelines) or job run id (jr_...) with --job")
        c.add_argument("--job", help="a job of the pipeline instead of the whole workflow")
        if name in ("start", "watch"):
            c.add_argument("--interval", type=float, default=15.0, help="seconds between polls (default 15)")
        if name == "start":
            c.add_argument("--watch", action="store_true", help="watch the run to its end")
        if name == "runs":
            c.add_argument("--limit", type=int, default=10, help="how many runs (default 10)")

    sub.add_parser("verify", help="check the deployed stack against its declaration (needs --stack)")

    c = sub.add_parser("cost", help="monthly cost estimate of a stack from its declaration (no AWS needed)")
    # also after the command (`cost --stack prod`); SUPPRESS keeps a --stack given before it
    c.add_argument("--stack", default=argparse.SUPPRESS, help="the stack (Pulumi.STACK.yaml)")
    c.add_argument("--json", action="store_true", help="print the estimate as JSON")
    c.add_argument("--prices", metavar="FILE",
                   help="price table as YAML {region: {price: USD, ...}} instead of the built-in one")
    return p


# --- cost ------------------------------------------------------------------------------

def load_price_tables(path: str) -> dict:
    """A price table from YAML, checked before use (every problem named with its key)."""
    try:
        with open(path) as fh:
            tables = yaml.safe_load(fh)
    except OSError as e:
        raise OpsError(f"--prices {path}: cannot read it ({e.strerror})") from None
    except yaml.YAMLError as e:
        raise OpsError(f"--prices {path}: not YAML ({e})") from None
    model_cost.price_table_problems(tables, where=path).raise_if_any()
    return tables


def cost(stack: str | None, region: str | None, prices: str | None) -> model_cost.Estimate:
    if not stack:
        raise OpsError("cost needs --stack NAME: it prices the declaration in Pulumi.NAME.yaml")
    cfg = load_stack_config(stack)
    region = region or str(stack_file_values(stack).get("aws:region") or "")
    if not region:
        raise OpsError(f"Pulumi.{stack}.yaml sets no aws:region; pass --region REGION")
    tables = load_price_tables(prices) if prices else model_cost.PRICE_TABLES
    return model_cost.estimate(cfg, region, tables=tables)


def cost_table(est: model_cost.Estimate) -> Table:
    table = Table(title=f"monthly cost estimate of stack {est.stack} in {est.region} (USD)", title_justify="left",
                  caption=f"prices: {est.prices_source}", caption_justify="left")
    for col, justify in (("Service", "left"), ("Item", "left"), ("Quantity", "right"), ("Unit", "left"),
                         ("Unit price", "right"), ("USD/month", "right"), ("Note", "right")):
        table.add_column(col, justify=justify, overflow="fold")
    for i, line in enumerate(est.lines, 1):
        table.add_row(line.service, line.item, f"{line.quantity:,.3f}", line.unit, f"{line.unit_price:g}",
                      f"{line.monthly_usd:,.2f}", str(i))
    table.add_section()
    table.add_row("Total", "", "", "", "", f"{est.total:,.2f}", "", style="bold")
    return table


def print_cost(est: model_cost.Estimate, console: Console, as_json: bool) -> None:
    if as_json:
        console.file.write(json.dumps(est.as_dict(), indent=2) + "\n")
        return
    console.print(cost_table(est))
    console.print(f"runs of each pipeline a month: {est.runs_per_month:g} ({est.runs_basis})", soft_wrap=True,
                  markup=False)
    console.print("notes:", markup=False)
    for i, line in enumerate(est.lines, 1):
        console.print(f"  {i}. {line.assumption}", soft_wrap=True, markup=False, highlight=False)


def _client_error_message(e: ClientError, args: argparse.Namespace) -> str:
    code, op = error_code(e), getattr(e, "operation_name", "?")
    msg = e.response.get("Error", {}).get("Message", "")
    if code in THROTTLING_CODES:
        return (f"AWS throttled {op} and it still failed after {args.max_attempts} attempts "
                f"(retry mode {args.retry_mode}): wait and rerun, "
                f"or pass --retry-mode adaptive / a larger --max-attempts")
    if code in CREDENTIAL_CODES:
        return f"AWS rejected the credentials ({code}: {msg}); refresh them (aws sso login / new keys) and rerun"
    if code in ("AccessDenied", "AccessDeniedException"):
        return f"access denied for {op}: {msg}. The identity running the tool needs this permission"
    return f"AWS error in {op}: {code}: {msg}"


def main(argv: Sequence[str] | None = None, console: Console | None = None,
         sleep: Callable[[float], None] | None = None) -> int:
    args = parser().parse_args(argv)
    console = console or Console()
    err = Console(stderr=True) if console.file is sys.stdout else console
    try:
        return _run(args, console, err, sleep or ops_runs.time.sleep)
    except OpsError as e:
        err.print(f"error: {e}", style="red", soft_wrap=True, markup=False)
    except ConfigError as e:
        err.print(f"error: {e}", style="red", soft_wrap=True, markup=False)
    except (NoCredentialsError, PartialCredentialsError):
        err.print(f"error: {NO_CREDENTIALS}", style="red", soft_wrap=True, markup=False)
    except NoRegionError:
        err.print("error: no AWS region; pass --region or --set region=REGION", style="red", markup=False)
    except EndpointConnectionError as e:
        err.print(f"error: cannot reach {e.kwargs.get('endpoint_url')}: check the region and the network",
                  style="red", soft_wrap=True, markup=False)
    except ClientError as e:
        err.print(f"error: {_client_error_message(e, args)}", style="red", soft_wrap=True, markup=False)
    return EXIT_ERROR


def _run(args: argparse.Namespace, console: Console, err: Console, sleep: Callable[[float], None]) -> int:
    if args.command == "cost":  # the declaration and a price table only: no outputs, no AWS
        print_cost(cost(args.stack, args.region, args.prices), console, args.json)
        return EXIT_OK
    if args.command == "verify" and not args.stack:
        raise OpsError("verify needs --stack NAME: it compares the deployment with Pulumi.NAME.yaml "
                       "(pipelines, Glue versions, job settings)")
    cfg = load_stack_config(args.stack) if args.command == "verify" else None
    outputs = load_outputs(args.stack, args.outputs, args.set)
    aws = connect(outputs, args.profile, args.region, args.retry_mode, args.max_attempts)
    for note in aws.notes:
        err.print(f"note: {note}", style="yellow", soft_wrap=True, markup=False)

    if args.command == "upload":
        done = upload(aws, outputs, args.paths, args.prefix, args.replace)
        bucket = outputs.item("buckets", "raw")
        table = Table(title=f"upload to s3://{bucket}/ (SSE-KMS)", title_justify="left")
        for col in ("File", "Key", "Bytes", "Result"):
            table.add_column(col, overflow="fold")
        for u in done:
            table.add_row(str(u.path), u.key, str(u.size), u.status)
        console.print(table)
        counts = {s: sum(1 for u in done if u.status == s) for s in ("uploaded", "replaced", "unchanged")}
        console.print(", ".join(f"{n} {s}" for s, n in counts.items()))
        return EXIT_OK

    if args.command == "verify":
        rows = verify(aws, outputs, cfg)
        table = Table(title=f"verify stack {args.stack} in {aws.region}", title_justify="left")
        for col in ("Check", "Target", "Result", "Reason"):
            table.add_column(col, overflow="fold")
        for r in rows:
            table.add_row(r.check, r.target, "[green]PASS[/]" if r.ok else "[bold red]FAIL[/]", r.reason)
        console.print(table)
        failed = [r for r in rows if not r.ok]
        console.print(f"{len(rows) - len(failed)} passed, {len(failed)} failed",
                      style="bold red" if failed else "bold green")
        return EXIT_FAILED if failed else EXIT_OK

    target = resolve(outputs, args.pipeline, args.job)
    if args.command == "runs":
        console.print(runs_table(aws, target, args.limit))
        return EXIT_OK
    if args.command == "start":
        run_id = start(aws, target)
        console.print(f"started {target.glue_name} run {run_id}", soft_wrap=True)
        if not args.watch:
            console.print(f"watch it: python -m lakehouse.ops watch {target.pipeline} {run_id}"
                          + (f" --job {target.job}" if target.job else ""), soft_wrap=True)
            return EXIT_OK
    else:
        run_id = args.run_id or latest_run_id(aws, target)
    return watch(aws, outputs, target, run_id, console, args.interval, sleep)

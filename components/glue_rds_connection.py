"""GlueRdsConnection: private networking, PostgreSQL on RDS and the Glue JDBC connection to it.

Two independent create-or-use-existing choices, both from configuration:
- network: a VPC made here (DNS support and hostnames, private subnets in two AZs, one route
  table without any internet route, the S3 gateway endpoint and an interface endpoint with
  private DNS for every other service a job on the connection calls, the default security group
  emptied), or an existing VPC and subnets that must already reach those services (README,
  "Database connection"): nothing is added to someone else's route tables;
- database: an RDS PostgreSQL instance made here (encrypted with the lake key, private,
  backed up, IAM auth, master password managed by RDS in Secrets Manager under the lake key),
  or an existing endpoint plus the ARN of a secret holding {"username", "password"}.

Which services a job on the connection calls is read off the statements its role gets
(`connection_job_actions`: lakehouse.model.iam's job policy and the connection's statements) through
lakehouse.model.network's mapping (cloudwatch is the `monitoring` endpoint; ec2 is Glue's own and
needs none; STS is called by the runtime without a statement): glue, kms, logs, monitoring,
secretsmanager and sts get interface endpoints, S3 its gateway endpoint.

Security groups: the Glue group has the self-referencing all-TCP ingress Glue requires and
egress only to itself, 443 to the S3 prefix list, 443 to the interface endpoints (their group,
or the VPC CIDR for an existing VPC) and the database port (the RDS group, or the VPC CIDR for
an existing database). The endpoints' group admits 443 from the Glue group only; the RDS group
admits 5432 from the Glue group only. No rule anywhere admits 0.0.0.0/0.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from typing import Callable, Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws
from pulumi.runtime.rpc import unwrap_rpc_secret

from lakehouse.model.config import DatabaseSettings, NetworkSettings
from lakehouse.model.errors import Problems
from lakehouse.model.iam import (
    CONNECTION_TAG_KEY,
    JobGrant,
    connection_job_statements,
    job_role_policy,
    s3_gateway_endpoint_policy,
    vpc_endpoint_policy,
    vpc_flow_logs_policy,
    vpc_flow_logs_trust_policy,
)
from lakehouse.model.names import AwsContext, endpoint_service_name
from lakehouse.model.network import GATEWAY_SERVICES, needed_services
from lakehouse.model.pipelines import DATABASES, Access
from lakehouse.model.zones import BUCKET_ROLES, ZONES

TYPE = "glue-lakehouse:components:GlueRdsConnection"
POSTGRES_PORT = 5432
MASTER_USERNAME = "lakehouse_admin"  # not a secret; the password lives only in the RDS-managed secret


@dataclass(frozen=True)
class GlueRdsConnectionArgs:
    name_prefix: str  # physical names start with it: cfg.resource_name(), e.g. lakehouse-dev
    environment: str  # dev skips the final snapshot
    region: str
    network: NetworkSettings
    database: DatabaseSettings
    kms_key_arn: pulumi.Input[str]  # the lake key: RDS storage and the master user secret
    key_alias: str  # the lake key's alias: how the jobs' statements name it
    tags: Mapping[str, str]
    dns_suffix: str = AwsContext.dns_suffix  # the partition's: endpoint service names
    # a created network only: the account and partition (the flow-log role's trust, the endpoint
    # policies' aws:PrincipalAccount and bucket ARNs), the stack's buckets (the only ones the S3
    # endpoint serves) and the flow-log group's retention (the stack's logRetentionDays)
    account_id: str = ""
    partition: str = AwsContext.partition
    bucket_names: Sequence[str] = ()
    log_retention_days: int = 365


def validate_connection(args: GlueRdsConnectionArgs) -> None:
    """The network and database settings were validated with the stack config (lakehouse.model.config);
    what is left is the program's own contract: a connection needs a database."""
    p = Problems()
    if args.database.mode not in ("create", "existing"):
        p.add("glue-lakehouse:databaseMode", args.database.mode,
              "create | existing for a Glue JDBC connection (none creates no connection)")
    if args.network.create:
        if not args.account_id:
            p.add("GlueRdsConnectionArgs.account_id", args.account_id,
                  "the account id when createNetwork is true (flow-log role trust, endpoint policies)")
        if not args.bucket_names:
            p.add("GlueRdsConnectionArgs.bucket_names", list(args.bucket_names),
                  "the stack's buckets when createNetwork is true (the S3 endpoint serves only those)")
    p.raise_if_any()


def vpc_flow_log_group(name_prefix: str) -> str:
    """The CloudWatch log group of a created VPC's flow logs (the lake key policy names it too)."""
    return f"/aws/vpc-flow-logs/{name_prefix}"


def connection_job_actions(ctx: AwsContext, connection_name: str) -> list[str]:
    """Every action a job role on the connection can be granted, from the statements themselves:
    lakehouse.model.iam's policy of a job declaring every kind of access (tables and prefixes read
    and written in every zone, the database, the Spark UI) and the connection's statements. Only
    the actions matter, so the names and ids given here are arbitrary."""
    every = tuple(Access(z, tables=("t",), prefixes=("p/",)) for z in ZONES) + tuple(
        Access(d, tables=("t",)) for d in DATABASES)
    grant = JobGrant(
        role_name="job", reads=every, writes=every, buckets={r: f"bucket-{r}" for r in BUCKET_ROLES},
        databases={z: f"db_{z}" for z in ZONES}, script_key="job.py", library_key="lib.zip",
        temp_prefix="job/", spark_ui_prefix="spark-ui/job/", log_groups=("/aws-glue/jobs/job",),
        key_alias="alias/lake")
    statements = job_role_policy(ctx, grant)["Statement"] + connection_job_statements(
        ctx, connection_name=connection_name, db_instance="db", secret_key_alias="alias/lake")
    return sorted({a for st in statements for a in ([st["Action"]] if isinstance(st["Action"], str)
                                                     else st["Action"])})


def s3_endpoint_actions(ctx: AwsContext, connection_name: str) -> list[str]:
    """The S3 actions a job on the connection can be granted: all the S3 gateway endpoint lets through."""
    return [a for a in connection_job_actions(ctx, connection_name) if a.startswith("s3:")]


def interface_endpoint_services(ctx: AwsContext, connection_name: str) -> list[str]:
    """The endpoint services a job on the connection calls that take an interface endpoint
    (lakehouse.model.network.needed_services of connection_job_actions; S3 has its gateway)."""
    return [s for s in needed_services(connection_job_actions(ctx, connection_name)) if s not in GATEWAY_SERVICES]


def private_subnet_cidrs(vpc_cidr: str, count: int = 2) -> list[str]:
    """The first `count` quarters of the VPC block (room left for more subnets later)."""
    net = ipaddress.ip_network(vpc_cidr)
    return [str(s) for s in list(net.subnets(prefixlen_diff=2))[:count]]


def jdbc_url(endpoint: str, database: str) -> str:
    """endpoint is host:port, as RDS reports it and as existingDbEndpoint is written."""
    return f"jdbc:postgresql://{endpoint}/{database}"


def connection_properties(url: pulumi.Input[str], secret_arn: pulumi.Input[str]) -> dict[str, pulumi.Input[str]]:
    """Glue JDBC connection properties: TLS enforced, credentials only through Secrets Manager."""
    return {"JDBC_CONNECTION_URL": url, "JDBC_ENFORCE_SSL": "true", "SECRET_ID": secret_arn}


def per_key_connection_properties(
    properties: Mapping[str, pulumi.Input[str]],
) -> Callable[[pulumi.ResourceTransformArgs], Optional[pulumi.ResourceTransformResult]]:
    """A resource transform giving the engine `connectionProperties` member by member.

    pulumi-aws wraps connection_properties in one secret Output (Output.secret of the map): when
    any member is unknown, the RDS endpoint in the URL and the RDS-managed secret's ARN at a
    first preview, the whole map is unknown and the policy pack cannot see JDBC_ENFORCE_SSL.
    Handed over member by member, the map is known with unknown members, JDBC_ENFORCE_SSL among
    the known ones. Members that are not plain strings stay secrets, as pulumi-aws has them.
    When every member is known (`pulumi up`, the SDK's mocks) the transform changes nothing.
    """
    members = {k: v if isinstance(v, str) else pulumi.Output.secret(v) for k, v in properties.items()}

    def transform(args: pulumi.ResourceTransformArgs) -> Optional[pulumi.ResourceTransformResult]:
        if _all_known_strings(args.props.get("connectionProperties")):
            return None
        return pulumi.ResourceTransformResult(props={**args.props, "connectionProperties": dict(members)},
                                              opts=args.opts)

    return transform


def _all_known_strings(value: object) -> bool:
    value = unwrap_rpc_secret(value)  # a secret map arrives wrapped
    return isinstance(value, Mapping) and all(isinstance(v, str) for v in value.values())


class GlueRdsConnection(pulumi.ComponentResource):
    """A Glue JDBC connection to PostgreSQL, with the network and database it needs (made here or existing)."""

    connection: aws.glue.Connection
    vpc_id: pulumi.Output[str]
    subnet_ids: list[pulumi.Output[str]]
    glue_security_group: aws.ec2.SecurityGroup
    interface_endpoints: dict[str, aws.ec2.VpcEndpoint]  # by endpoint service; none in an existing VPC
    db_instance: Optional[aws.rds.Instance]
    db_endpoint: pulumi.Output[str]
    secret_arn: pulumi.Output[str]
    secret_kms_key_arn: Optional[pulumi.Output[str]]

    def __init__(self, name: str, args: GlueRdsConnectionArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__(TYPE, name, {}, opts)
        validate_connection(args)
        self._name, self._args = name, args
        self._ctx = AwsContext(args.account_id or "000000000000", args.region, args.partition, args.dns_suffix)
        self._child = pulumi.ResourceOptions(parent=self)
        base = args.name_prefix
        self.physical_name = f"{base}-postgres"  # the connection's name (its jobs' statements name it)
        self.db_identifier = f"{base}-postgres"  # the RDS instance made here (names its managed secret)

        if args.network.create:
            self._create_network()
        else:
            self._existing_network()

        self.glue_security_group = aws.ec2.SecurityGroup(
            f"{name}-glue",
            name=f"{base}-glue-connection",
            description="Glue job ENIs of the JDBC connection",
            vpc_id=self.vpc_id,
            tags=self._tags(f"{base}-glue-connection", connection=True),
            opts=self._child,
        )
        glue_sg = self.glue_security_group.id
        self._rules: list[pulumi.Resource] = [
            self._ingress("glue-self", glue_sg, 0, 65535, "Glue workers talk to each other (required by Glue)",
                          referenced_security_group_id=glue_sg),
            self._egress("glue-self", glue_sg, 0, 65535, "Glue workers talk to each other",
                         referenced_security_group_id=glue_sg),
            self._egress("glue-s3", glue_sg, 443, 443, "S3 (the regional S3 prefix list)",
                         prefix_list_id=self.s3_prefix_list_id),
        ]
        if args.network.create:
            services = ", ".join(self.interface_endpoints)
            self._rules += [
                # was the Secrets Manager endpoint's rule alone: the alias keeps it in place (no replacement)
                self._egress("glue-endpoints", glue_sg, 443, 443, f"Interface VPC endpoints ({services})",
                             referenced_security_group_id=self.endpoint_security_group.id,
                             aliases=[pulumi.Alias(name=f"{name}-glue-secretsmanager")]),
                self._ingress("endpoints-from-glue", self.endpoint_security_group.id, 443, 443, "HTTPS from Glue only",
                              referenced_security_group_id=glue_sg),
            ]
        else:
            self._rules.append(self._egress("glue-vpc-https", glue_sg, 443, 443,
                                            "Interface VPC endpoints inside the existing VPC",
                                            cidr_ipv4=self.vpc_cidr))

        if args.database.mode == "create":
            self._create_database()
        else:
            self._existing_database()

        self.jdbc_url = self.db_endpoint.apply(lambda e: jdbc_url(e, args.database.name))
        properties = connection_properties(self.jdbc_url, self.secret_arn)
        self.connection = aws.glue.Connection(
            name,
            name=self.physical_name,
            description=f"JDBC to PostgreSQL database {args.database.name} (TLS, credentials from Secrets Manager)",
            connection_type="JDBC",
            connection_properties=properties,
            physical_connection_requirements={
                "subnet_id": self.subnet_ids[0],
                "availability_zone": self.connection_availability_zone,
                "security_group_id_lists": [glue_sg],
            },
            tags=dict(args.tags),
            # usable once created: routes to S3 / Secrets Manager and the group rules exist
            opts=pulumi.ResourceOptions(parent=self, depends_on=self._rules + self._endpoints,
                                        transforms=[per_key_connection_properties(properties)]),
        )
        self.connection_name = self.connection.name
        self.register_outputs({
            "connectionName": self.connection.name,
            "vpcId": self.vpc_id,
            "subnetIds": self.subnet_ids,
            "glueSecurityGroupId": glue_sg,
            "dbEndpoint": self.db_endpoint,
            "secretArn": self.secret_arn,
        })

    # --- policy for jobs using the connection --------------------------------------------

    def job_statements(self, ctx: AwsContext) -> list[dict]:
        """IAM statements a job role needs to run with this connection (lakehouse.model.iam), built
        from names and configured ids only, so they are known at preview: the network and the
        Glue security group made here are named by their CONNECTION_TAG_KEY tag, the RDS-managed
        secret by its instance's ARN. Glue puts a job's ENIs in the connection's subnet only."""
        net, db = self._args.network, self._args.database
        created_db = db.mode == "create"
        return connection_job_statements(
            ctx, connection_name=self.physical_name,
            db_secret_arn=None if created_db else db.existing_secret_arn,
            db_instance=self.db_identifier if created_db else None,
            secret_key_alias=self._args.key_alias if created_db else None,
            subnet_ids=() if net.create else net.subnet_ids[:1],
            vpc_id=None if net.create else net.vpc_id)

    # --- network ------------------------------------------------------------------------

    def _create_network(self) -> None:
        name, args, child, base = self._name, self._args, self._child, self._args.name_prefix
        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.network.vpc_cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,  # required by Glue connections and private DNS endpoints
            tags=self._tags(f"{base}-vpc", connection=True),
            opts=child,
        )
        self.vpc = vpc
        self.vpc_id = vpc.id
        self.vpc_cidr = vpc.cidr_block
        # Deny everything on the default group: nothing here should ever use it.
        aws.ec2.DefaultSecurityGroup(f"{name}-default-sg", vpc_id=vpc.id, tags=self._tags(f"{base}-default-unused"),
                                     opts=child)
        self._flow_logs(vpc)
        azs = aws.get_availability_zones_output(state="available", opts=pulumi.InvokeOutputOptions(parent=self))
        az_names = azs.names.apply(_two_zones)
        self.route_table = aws.ec2.RouteTable(
            f"{name}-private", vpc_id=vpc.id, tags=self._tags(f"{base}-private"), opts=child)  # local route only
        self.subnets = []
        for i, cidr in enumerate(private_subnet_cidrs(args.network.vpc_cidr)):
            subnet = aws.ec2.Subnet(
                f"{name}-private-{i + 1}",
                vpc_id=vpc.id,
                cidr_block=cidr,
                availability_zone=az_names[i],
                map_public_ip_on_launch=False,
                tags=self._tags(f"{base}-private-{i + 1}", connection=i == 0),  # the connection's subnet
                opts=child,
            )
            aws.ec2.RouteTableAssociation(f"{name}-private-{i + 1}", subnet_id=subnet.id,
                                          route_table_id=self.route_table.id, opts=child)
            self.subnets.append(subnet)
        self.subnet_ids = [s.id for s in self.subnets]
        self.connection_availability_zone = self.subnets[0].availability_zone

        self.endpoint_security_group = aws.ec2.SecurityGroup(
            f"{name}-endpoints",
            name=f"{base}-vpc-endpoints",
            description="Interface VPC endpoints, reachable from Glue only",
            vpc_id=vpc.id,
            tags=self._tags(f"{base}-vpc-endpoints"),
            opts=child,
        )
        s3 = aws.ec2.VpcEndpoint(
            f"{name}-s3",
            vpc_id=vpc.id,
            service_name=endpoint_service_name(args.region, "s3", args.dns_suffix),
            vpc_endpoint_type="Gateway",
            route_table_ids=[self.route_table.id],
            policy=json.dumps(s3_gateway_endpoint_policy(
                self._ctx, args.bucket_names, s3_endpoint_actions(self._ctx, self.physical_name))),
            tags=self._tags(f"{base}-s3"),
            opts=child,
        )
        # one interface endpoint per service the connection's jobs call (secretsmanager keeps its name),
        # usable by this account's principals only
        ctx = self._ctx
        self.interface_endpoints = {
            service: aws.ec2.VpcEndpoint(
                f"{name}-{service}",
                vpc_id=vpc.id,
                service_name=endpoint_service_name(args.region, service, args.dns_suffix),
                vpc_endpoint_type="Interface",
                private_dns_enabled=True,  # the SDKs' regional hosts resolve to the endpoint
                subnet_ids=self.subnet_ids,
                security_group_ids=[self.endpoint_security_group.id],
                policy=json.dumps(vpc_endpoint_policy(ctx)),
                tags=self._tags(f"{base}-{service}"),
                opts=child,
            )
            for service in interface_endpoint_services(ctx, self.physical_name)
        }
        self.s3_prefix_list_id = s3.prefix_list_id
        self._endpoints = [s3, *self.interface_endpoints.values()]

    def _flow_logs(self, vpc: aws.ec2.Vpc) -> None:
        """Every packet of the VPC (ACCEPT and REJECT) into a log group encrypted with the lake key that
        expires its logs, delivered through a role only VPC Flow Logs of this account assumes, allowed to
        write that group's streams only."""
        name, args, base, ctx = self._name, self._args, self._args.name_prefix, self._ctx
        child = pulumi.ResourceOptions(parent=self)
        group = vpc_flow_log_group(base)
        self.flow_log_group = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs", name=group, retention_in_days=args.log_retention_days, kms_key_id=args.kms_key_arn,
            deletion_protection_enabled=args.environment == "prod", tags=dict(args.tags), opts=child)
        self.flow_log_role = aws.iam.Role(
            f"{name}-flow-logs", name=f"{base}-vpc-flow-logs", description=f"VPC Flow Logs of {base} into {group}",
            assume_role_policy=json.dumps(vpc_flow_logs_trust_policy(ctx)), tags=dict(args.tags), opts=child)
        policy = aws.iam.RolePolicy(f"{name}-flow-logs", role=self.flow_log_role.id,
                                    policy=json.dumps(vpc_flow_logs_policy(ctx, group)), opts=child)
        self.flow_log = aws.ec2.FlowLog(
            f"{name}-flow-logs", vpc_id=vpc.id, traffic_type="ALL", log_destination_type="cloud-watch-logs",
            log_destination=self.flow_log_group.arn, iam_role_arn=self.flow_log_role.arn,
            tags=self._tags(f"{base}-vpc-flow-logs"),
            # delivery starts at creation: the role may write by then
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]))

    def _existing_network(self) -> None:
        args = self._args
        invoke = pulumi.InvokeOutputOptions(parent=self)
        vpc_id = args.network.vpc_id
        self.vpc_id = pulumi.Output.from_input(vpc_id)
        self.vpc_cidr = aws.ec2.get_vpc_output(id=vpc_id, opts=invoke).cidr_block
        self.subnet_ids = [pulumi.Output.from_input(s) for s in args.network.subnet_ids]
        first = aws.ec2.get_subnet_output(id=args.network.subnet_ids[0], opts=invoke)
        self.connection_availability_zone = pulumi.Output.all(first.vpc_id, first.availability_zone).apply(
            lambda v: _subnet_in_vpc(args.network.subnet_ids[0], v[0], vpc_id, v[1]))
        self.s3_prefix_list_id = aws.ec2.get_prefix_list_output(
            name=endpoint_service_name(args.region, "s3", args.dns_suffix), opts=invoke).id
        self.interface_endpoints = {}  # the existing VPC provides them (README, "Database connection")
        self._endpoints = []

    # --- database -------------------------------------------------------------------------

    def _create_database(self) -> None:
        name, args, child, base = self._name, self._args, self._child, self._args.name_prefix
        db = args.database
        rds_sg = aws.ec2.SecurityGroup(
            f"{name}-rds",
            name=f"{base}-postgres",
            description="PostgreSQL, reachable from the Glue connection only",
            vpc_id=self.vpc_id,
            tags=self._tags(f"{base}-postgres"),
            opts=child,
        )
        self.rds_security_group = rds_sg
        glue_sg = self.glue_security_group.id
        self._rules += [
            self._ingress("rds-from-glue", rds_sg.id, POSTGRES_PORT, POSTGRES_PORT, "PostgreSQL from Glue only",
                          referenced_security_group_id=glue_sg),
            self._egress("glue-rds", glue_sg, POSTGRES_PORT, POSTGRES_PORT, "PostgreSQL on RDS",
                         referenced_security_group_id=rds_sg.id),
        ]
        subnet_group = aws.rds.SubnetGroup(
            f"{name}-db",
            name=f"{base}-postgres",
            description="Private subnets of the lakehouse PostgreSQL",
            subnet_ids=self.subnet_ids,
            tags=dict(args.tags),
            opts=child,
        )
        dev = args.environment == "dev"
        self.db_instance = aws.rds.Instance(
            f"{name}-postgres",
            identifier=self.db_identifier,
            engine="postgres",
            engine_version=db.engine_version,
            instance_class=db.instance_class,
            allocated_storage=db.allocated_storage_gb,
            storage_type="gp3",
            storage_encrypted=True,
            kms_key_id=args.kms_key_arn,
            db_name=db.name,
            port=POSTGRES_PORT,
            username=MASTER_USERNAME,
            manage_master_user_password=True,  # RDS generates, stores and rotates it in Secrets Manager
            master_user_secret_kms_key_id=args.kms_key_arn,
            iam_database_authentication_enabled=True,
            publicly_accessible=False,
            db_subnet_group_name=subnet_group.name,
            vpc_security_group_ids=[rds_sg.id],
            backup_retention_period=db.backup_retention_days,
            multi_az=db.multi_az,
            deletion_protection=db.deletion_protection,
            skip_final_snapshot=dev,
            final_snapshot_identifier=None if dev else f"{base}-postgres-final",
            copy_tags_to_snapshot=True,
            auto_minor_version_upgrade=True,
            allow_major_version_upgrade=False,
            tags=dict(args.tags),
            opts=child,
        )
        self.db_endpoint = self.db_instance.endpoint
        self.secret_arn = self.db_instance.master_user_secrets.apply(_secret_arn)
        self.secret_kms_key_arn = pulumi.Output.from_input(args.kms_key_arn)

    def _existing_database(self) -> None:
        db = self._args.database
        port = int(db.existing_endpoint.rpartition(":")[2])
        self.db_instance = None
        self._rules.append(self._egress("glue-db", self.glue_security_group.id, port, port,
                                        "the existing PostgreSQL inside the VPC", cidr_ipv4=self.vpc_cidr))
        self.db_endpoint = pulumi.Output.from_input(db.existing_endpoint)
        self.secret_arn = pulumi.Output.from_input(db.existing_secret_arn)
        self.secret_kms_key_arn = None  # not ours: the secret's owner grants its key (see README)

    # --- helpers -------------------------------------------------------------------------

    def _tags(self, name: str, connection: bool = False) -> dict[str, str]:
        """The stack's tags and Name; `connection`: also CONNECTION_TAG_KEY, on what the connection's
        ENIs may use (the job roles' statements name these resources by it)."""
        return {**self._args.tags, "Name": name, **({CONNECTION_TAG_KEY: self.physical_name} if connection else {})}

    def _ingress(self, suffix: str, group: pulumi.Input[str], lo: int, hi: int, description: str, **source):
        return aws.vpc.SecurityGroupIngressRule(
            f"{self._name}-{suffix}", security_group_id=group, ip_protocol="tcp", from_port=lo, to_port=hi,
            description=description, tags=dict(self._args.tags), opts=self._child, **source)

    def _egress(self, suffix: str, group: pulumi.Input[str], lo: int, hi: int, description: str,
                aliases: Optional[list[pulumi.Alias]] = None, **target):
        return aws.vpc.SecurityGroupEgressRule(
            f"{self._name}-{suffix}", security_group_id=group, ip_protocol="tcp", from_port=lo, to_port=hi,
            description=description, tags=dict(self._args.tags),
            opts=pulumi.ResourceOptions.merge(self._child, pulumi.ResourceOptions(aliases=aliases)), **target)


def _two_zones(names: Optional[list[str]]) -> list[str]:
    names = list(names or [])
    if len(names) < 2:
        raise ValueError(f"createNetwork needs two availability zones in the region, found {names}")
    return names[:2]


def _subnet_in_vpc(subnet_id: str, subnet_vpc: str, vpc_id: str, zone: str) -> str:
    if subnet_vpc != vpc_id:
        raise ValueError(f"glue-lakehouse:subnetIds: subnet {subnet_id} is in {subnet_vpc}; "
                         f"allowed: subnets of vpcId {vpc_id}")
    return zone


def _secret_arn(secrets) -> str:
    """ARN of the RDS-managed master user secret (RDS reports a one-element list)."""
    if not secrets or not secrets[0].secret_arn:
        raise ValueError("RDS reported no master user secret although manage_master_user_password is true")
    return secrets[0].secret_arn

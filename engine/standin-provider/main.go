// pulumi-resource-aws: the glue-lakehouse stand-in for the AWS provider.
//
// It proves the engine, configuration, program and policy wiring, not AWS behaviour. The real
// provider plugin cannot be installed on the project's machines, so the Pulumi engine loads this
// plugin in its place: it presents itself as the "aws" provider at the version the pulumi-aws
// Python SDK asks for (set at build time from engine/versions.env), answers the invokes the
// program makes with fixed fake values (account 123456789012), passes resource inputs through as
// their outputs at preview (anything the real provider would compute stays unknown), and refuses
// to create, read, update or delete anything.
package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// version is the aws provider version presented to the engine: -ldflags "-X main.version=...".
var version = "0.0.0-unset"

const (
	banner    = "glue-lakehouse stand-in for the AWS provider: proves the engine, configuration, program and policy wiring, not AWS behaviour"
	accountID = "123456789012"
)

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "--version" || os.Args[1] == "version") {
		fmt.Printf("%s\naws provider version presented: %s\n", banner, version)
		return
	}
	err := provider.Main("aws", func(host *provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		return &standin{host: host, region: "us-east-1"}, nil
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", banner, err)
		os.Exit(1)
	}
}

type standin struct {
	pulumirpc.UnimplementedResourceProviderServer
	host   *provider.HostClient
	region string
}

func (p *standin) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

// GetSchema: an empty package schema (nothing in a preview needs the real one).
func (p *standin) GetSchema(context.Context, *pulumirpc.GetSchemaRequest) (*pulumirpc.GetSchemaResponse, error) {
	return &pulumirpc.GetSchemaResponse{Schema: fmt.Sprintf(
		`{"name":"aws","version":%q,"description":%q}`, version, banner)}, nil
}

func (p *standin) CheckConfig(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (p *standin) DiffConfig(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return diff(req), nil
}

func (p *standin) Configure(ctx context.Context, req *pulumirpc.ConfigureRequest) (*pulumirpc.ConfigureResponse, error) {
	if r := req.GetVariables()["aws:config:region"]; r != "" {
		p.region = r
	}
	if r := req.GetArgs().GetFields()["region"].GetStringValue(); r != "" {
		p.region = r
	}
	_ = p.host.Log(ctx, diag.Warning, "", fmt.Sprintf(
		"%s (presents itself as aws %s, region %s, account %s)", banner, version, p.region, accountID))
	return &pulumirpc.ConfigureResponse{AcceptSecrets: true, SupportsPreview: true, AcceptResources: true}, nil
}

// Check accepts every input as it is: the real provider's validation is not reproduced.
func (p *standin) Check(_ context.Context, req *pulumirpc.CheckRequest) (*pulumirpc.CheckResponse, error) {
	return &pulumirpc.CheckResponse{Inputs: req.GetNews()}, nil
}

func (p *standin) Diff(_ context.Context, req *pulumirpc.DiffRequest) (*pulumirpc.DiffResponse, error) {
	return diff(req), nil
}

// Create at preview returns the inputs as outputs; outputs the real provider would compute (arn,
// id, ...) are left out, so the engine and the program see them as unknown, as with the real one.
func (p *standin) Create(_ context.Context, req *pulumirpc.CreateRequest) (*pulumirpc.CreateResponse, error) {
	if req.GetPreview() {
		return &pulumirpc.CreateResponse{Properties: req.GetProperties()}, nil
	}
	return nil, refuse("create", req.GetUrn())
}

func (p *standin) Update(_ context.Context, req *pulumirpc.UpdateRequest) (*pulumirpc.UpdateResponse, error) {
	if req.GetPreview() {
		return &pulumirpc.UpdateResponse{Properties: req.GetNews()}, nil
	}
	return nil, refuse("update", req.GetUrn())
}

func (p *standin) Read(_ context.Context, req *pulumirpc.ReadRequest) (*pulumirpc.ReadResponse, error) {
	return nil, refuse("read", req.GetUrn())
}

func (p *standin) Delete(_ context.Context, req *pulumirpc.DeleteRequest) (*emptypb.Empty, error) {
	return nil, refuse("delete", req.GetUrn())
}

func (p *standin) Invoke(_ context.Context, req *pulumirpc.InvokeRequest) (*pulumirpc.InvokeResponse, error) {
	args := req.GetArgs().GetFields()
	arg := func(k, dflt string) string {
		if v := args[k].GetStringValue(); v != "" {
			return v
		}
		return dflt
	}
	region := arg("region", p.region)
	var ret map[string]any
	switch req.GetTok() {
	case "aws:index/getCallerIdentity:getCallerIdentity":
		ret = map[string]any{"id": accountID, "accountId": accountID, "userId": "AIDASTANDIN0000000000",
			"arn": "arn:aws:iam::" + accountID + ":user/glue-lakehouse-standin"}
	case "aws:index/getPartition:getPartition":
		ret = map[string]any{"id": "aws", "partition": "aws", "dnsSuffix": "amazonaws.com",
			"reverseDnsSuffix": "com.amazonaws"}
	case "aws:index/getRegion:getRegion":
		ret = map[string]any{"id": region, "name": region, "region": region,
			"description": "stand-in region " + region, "endpoint": "ec2." + region + ".amazonaws.com"}
	case "aws:index/getAvailabilityZones:getAvailabilityZones":
		ret = map[string]any{"id": region, "state": arg("state", "available"),
			"names":      []any{region + "a", region + "b", region + "c"},
			"zoneIds":    []any{"standin-az1", "standin-az2", "standin-az3"},
			"groupNames": []any{region, region, region}}
	case "aws:ec2/getVpc:getVpc":
		id := arg("id", "vpc-0standin0000000")
		ret = map[string]any{"id": id, "cidrBlock": "10.42.0.0/16", "state": "available",
			"arn": "arn:aws:ec2:" + region + ":" + accountID + ":vpc/" + id, "ownerId": accountID,
			"enableDnsHostnames": true, "enableDnsSupport": true}
	case "aws:ec2/getSubnet:getSubnet":
		id := arg("id", "subnet-0standin000000")
		ret = map[string]any{"id": id, "vpcId": "vpc-0standin0000000", "cidrBlock": "10.42.0.0/24",
			"availabilityZone": region + "a", "availabilityZoneId": "standin-az1", "state": "available",
			"arn": "arn:aws:ec2:" + region + ":" + accountID + ":subnet/" + id, "ownerId": accountID}
	case "aws:ec2/getPrefixList:getPrefixList":
		name := arg("name", "com.amazonaws."+region+".s3")
		ret = map[string]any{"id": "pl-0standin", "prefixListId": "pl-0standin", "name": name,
			"cidrBlocks": []any{"192.0.2.0/24"}}
	default:
		return nil, fmt.Errorf("%s: invoke %s is not answered by the stand-in (add it to engine/standin-provider/main.go)",
			banner, req.GetTok())
	}
	out, err := structpb.NewStruct(ret)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.InvokeResponse{Return: out}, nil
}

func diff(req *pulumirpc.DiffRequest) *pulumirpc.DiffResponse {
	if proto.Equal(req.GetOldInputs(), req.GetNews()) {
		return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_NONE}
	}
	return &pulumirpc.DiffResponse{Changes: pulumirpc.DiffResponse_DIFF_SOME}
}

func refuse(op, urn string) error {
	name := urn
	if i := strings.LastIndex(urn, "::"); i >= 0 {
		name = urn[i+2:]
	}
	return fmt.Errorf("%s: it cannot %s real resources (%s); use it for `pulumi preview` only", banner, op, name)
}

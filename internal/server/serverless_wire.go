package server

import (
	"github.com/idcgate/idcgate/internal/protocol/awsjson"
	"github.com/idcgate/idcgate/internal/serverless"
)

// Wire shapes of the Redshift Serverless model (lowerCamel members,
// ISO-8601 timestamps). Internal fields of the domain records, such as the
// namespace's Redshift IdC application, never appear here.

type namespaceWire struct {
	NamespaceArn      *string       `json:"namespaceArn,omitempty"`
	NamespaceId       *string       `json:"namespaceId,omitempty"`
	NamespaceName     *string       `json:"namespaceName,omitempty"`
	AdminUsername     *string       `json:"adminUsername,omitempty"`
	DbName            *string       `json:"dbName,omitempty"`
	DefaultIamRoleArn *string       `json:"defaultIamRoleArn,omitempty"`
	IamRoles          []string      `json:"iamRoles,omitempty"`
	KmsKeyId          *string       `json:"kmsKeyId,omitempty"`
	LogExports        []string      `json:"logExports,omitempty"`
	Status            string        `json:"status,omitempty"`
	CreationDate      *awsjson.Time `json:"creationDate,omitempty"`
}

type namespaceOutput struct {
	Namespace namespaceWire `json:"namespace"`
}

type listNamespacesOutput struct {
	Namespaces []namespaceWire `json:"namespaces"`
	NextToken  *string         `json:"nextToken,omitempty"`
}

type endpointWire struct {
	Address *string `json:"address,omitempty"`
	Port    *int32  `json:"port,omitempty"`
}

type configParameterWire struct {
	ParameterKey   *string `json:"parameterKey,omitempty"`
	ParameterValue *string `json:"parameterValue,omitempty"`
}

type workgroupWire struct {
	WorkgroupArn       *string               `json:"workgroupArn,omitempty"`
	WorkgroupId        *string               `json:"workgroupId,omitempty"`
	WorkgroupName      *string               `json:"workgroupName,omitempty"`
	NamespaceName      *string               `json:"namespaceName,omitempty"`
	BaseCapacity       *int32                `json:"baseCapacity,omitempty"`
	MaxCapacity        *int32                `json:"maxCapacity,omitempty"`
	Port               *int32                `json:"port,omitempty"`
	Endpoint           *endpointWire         `json:"endpoint,omitempty"`
	ConfigParameters   []configParameterWire `json:"configParameters,omitempty"`
	EnhancedVpcRouting *bool                 `json:"enhancedVpcRouting,omitempty"`
	PubliclyAccessible *bool                 `json:"publiclyAccessible,omitempty"`
	SecurityGroupIds   []string              `json:"securityGroupIds,omitempty"`
	SubnetIds          []string              `json:"subnetIds,omitempty"`
	Status             string                `json:"status,omitempty"`
	CreationDate       *awsjson.Time         `json:"creationDate,omitempty"`
	TrackName          *string               `json:"trackName,omitempty"`
	WorkgroupVersion   *string               `json:"workgroupVersion,omitempty"`
	PatchVersion       *string               `json:"patchVersion,omitempty"`
	IpAddressType      *string               `json:"ipAddressType,omitempty"`
}

type workgroupOutput struct {
	Workgroup workgroupWire `json:"workgroup"`
}

type listWorkgroupsOutput struct {
	Workgroups []workgroupWire `json:"workgroups"`
	NextToken  *string         `json:"nextToken,omitempty"`
}

func str(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func wireNamespace(ns serverless.Namespace) namespaceWire {
	return namespaceWire{
		NamespaceArn:      str(ns.NamespaceArn),
		NamespaceId:       str(ns.NamespaceId),
		NamespaceName:     str(ns.NamespaceName),
		AdminUsername:     str(ns.AdminUsername),
		DbName:            str(ns.DbName),
		DefaultIamRoleArn: str(ns.DefaultIamRoleArn),
		IamRoles:          ns.IamRoles,
		KmsKeyId:          str(ns.KmsKeyId),
		LogExports:        ns.LogExports,
		Status:            string(ns.Status),
		CreationDate:      awsjson.Timestamp(ns.CreationDate),
	}
}

func wireWorkgroup(wg serverless.Workgroup) workgroupWire {
	out := workgroupWire{
		WorkgroupArn:       str(wg.WorkgroupArn),
		WorkgroupId:        str(wg.WorkgroupId),
		WorkgroupName:      str(wg.WorkgroupName),
		NamespaceName:      str(wg.NamespaceName),
		BaseCapacity:       &wg.BaseCapacity,
		Port:               &wg.Port,
		EnhancedVpcRouting: &wg.EnhancedVpcRouting,
		PubliclyAccessible: &wg.PubliclyAccessible,
		SecurityGroupIds:   wg.SecurityGroupIds,
		SubnetIds:          wg.SubnetIds,
		Status:             string(wg.Status),
		CreationDate:       awsjson.Timestamp(wg.CreationDate),
		TrackName:          str(wg.TrackName),
		WorkgroupVersion:   str(wg.WorkgroupVersion),
		PatchVersion:       str(wg.PatchVersion),
		IpAddressType:      str(wg.IpAddressType),
		Endpoint:           &endpointWire{Address: str(wg.Endpoint.Address), Port: &wg.Endpoint.Port},
	}
	if wg.MaxCapacity != 0 {
		out.MaxCapacity = &wg.MaxCapacity
	}
	for _, p := range wg.ConfigParameters {
		out.ConfigParameters = append(out.ConfigParameters, configParameterWire{ParameterKey: str(p.ParameterKey), ParameterValue: str(p.ParameterValue)})
	}
	return out
}

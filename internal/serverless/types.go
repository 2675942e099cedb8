package serverless

import "time"

// Scope is the account and region a resource lives in.
type Scope struct{ Account, Region string }

// Status is a namespace's or workgroup's state.
type Status string

// States of BEHAVIOUR 3.4.
const (
	StatusAvailable Status = "AVAILABLE"
	StatusCreating  Status = "CREATING"
	StatusModifying Status = "MODIFYING"
	StatusDeleting  Status = "DELETING"
)

// transition is a pending state change, applied lazily by readers once its
// time has come. To == "" means the resource is gone.
type transition struct {
	To Status    `json:"to,omitempty"`
	At time.Time `json:"at"`
}

// Tag is a resource tag.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// ConfigParameter is a workgroup configuration parameter.
type ConfigParameter struct {
	ParameterKey   string `json:"parameterKey"`
	ParameterValue string `json:"parameterValue"`
}

// Endpoint is where clients connect to a workgroup.
type Endpoint struct {
	Address string `json:"address"`
	Port    int32  `json:"port"`
}

// Namespace is a stored namespace record.
type Namespace struct {
	NamespaceArn      string    `json:"namespaceArn"`
	NamespaceId       string    `json:"namespaceId"`
	NamespaceName     string    `json:"namespaceName"`
	AdminUsername     string    `json:"adminUsername,omitempty"`
	DbName            string    `json:"dbName"`
	DefaultIamRoleArn string    `json:"defaultIamRoleArn,omitempty"`
	IamRoles          []string  `json:"iamRoles,omitempty"`
	KmsKeyId          string    `json:"kmsKeyId"`
	LogExports        []string  `json:"logExports,omitempty"`
	Status            Status    `json:"status"`
	CreationDate      time.Time `json:"creationDate"`
	Tags              []Tag     `json:"tags,omitempty"`
	// IdcApplicationArn enables Identity Center; input-only on the wire.
	IdcApplicationArn string `json:"idcApplicationArn,omitempty"`
	// AdminPasswordSet records that a password was given; the password
	// itself is never stored.
	AdminPasswordSet bool        `json:"adminPasswordSet,omitempty"`
	Pending          *transition `json:"pending,omitempty"`
}

// Workgroup is a stored workgroup record.
type Workgroup struct {
	WorkgroupArn       string            `json:"workgroupArn"`
	WorkgroupId        string            `json:"workgroupId"`
	WorkgroupName      string            `json:"workgroupName"`
	NamespaceName      string            `json:"namespaceName"`
	BaseCapacity       int32             `json:"baseCapacity"`
	MaxCapacity        int32             `json:"maxCapacity,omitempty"`
	Port               int32             `json:"port"`
	Endpoint           Endpoint          `json:"endpoint"`
	ConfigParameters   []ConfigParameter `json:"configParameters"`
	EnhancedVpcRouting bool              `json:"enhancedVpcRouting"`
	PubliclyAccessible bool              `json:"publiclyAccessible"`
	SecurityGroupIds   []string          `json:"securityGroupIds,omitempty"`
	SubnetIds          []string          `json:"subnetIds,omitempty"`
	Status             Status            `json:"status"`
	CreationDate       time.Time         `json:"creationDate"`
	TrackName          string            `json:"trackName"`
	WorkgroupVersion   string            `json:"workgroupVersion"`
	PatchVersion       string            `json:"patchVersion"`
	IpAddressType      string            `json:"ipAddressType"`
	Tags               []Tag             `json:"tags,omitempty"`
	Pending            *transition       `json:"pending,omitempty"`
}

// Inputs mirror the AWS SDK model's members (JSON decoding matches the
// lowerCamel wire names to these field names).

// CreateNamespaceInput is CreateNamespace's input.
type CreateNamespaceInput struct {
	NamespaceName               *string
	AdminUsername               *string
	AdminUserPassword           *string
	AdminPasswordSecretKmsKeyId *string
	ManageAdminPassword         *bool
	DbName                      *string
	DefaultIamRoleArn           *string
	IamRoles                    []string
	KmsKeyId                    *string
	LogExports                  []string
	Tags                        []Tag
	RedshiftIdcApplicationArn   *string
}

// UpdateNamespaceInput is UpdateNamespace's input; nil members are unchanged.
type UpdateNamespaceInput struct {
	NamespaceName               *string
	AdminUsername               *string
	AdminUserPassword           *string
	AdminPasswordSecretKmsKeyId *string
	ManageAdminPassword         *bool
	DefaultIamRoleArn           *string
	IamRoles                    []string
	KmsKeyId                    *string
	LogExports                  []string
	RedshiftIdcApplicationArn   *string
}

// DeleteNamespaceInput is DeleteNamespace's input.
type DeleteNamespaceInput struct {
	NamespaceName                *string
	FinalSnapshotName            *string
	FinalSnapshotRetentionPeriod *int32
}

// CreateWorkgroupInput is CreateWorkgroup's input.
type CreateWorkgroupInput struct {
	WorkgroupName      *string
	NamespaceName      *string
	BaseCapacity       *int32
	MaxCapacity        *int32
	Port               *int32
	ConfigParameters   []ConfigParameter
	EnhancedVpcRouting *bool
	PubliclyAccessible *bool
	SecurityGroupIds   []string
	SubnetIds          []string
	Tags               []Tag
	TrackName          *string
	IpAddressType      *string
}

// UpdateWorkgroupInput is UpdateWorkgroup's input; nil members are unchanged.
type UpdateWorkgroupInput struct {
	WorkgroupName      *string
	BaseCapacity       *int32
	MaxCapacity        *int32
	Port               *int32
	ConfigParameters   []ConfigParameter
	EnhancedVpcRouting *bool
	PubliclyAccessible *bool
	SecurityGroupIds   []string
	SubnetIds          []string
	TrackName          *string
	IpAddressType      *string
}

// DeleteWorkgroupInput is DeleteWorkgroup's input.
type DeleteWorkgroupInput struct {
	WorkgroupName *string
}

// ListInput pages a list.
type ListInput struct {
	MaxResults *int32
	NextToken  *string
}

// ListWorkgroupsInput is ListWorkgroups' input.
type ListWorkgroupsInput struct {
	MaxResults   *int32
	NextToken    *string
	OwnerAccount *string
}

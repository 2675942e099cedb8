package testserver

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
)

// InstanceArn is the example's Identity Center instance.
const InstanceArn = "arn:aws:sso:::instance/ssoins-7223a1b2c3d4e5f6"

// SSOAdmin returns an sso-admin client signed with creds.
func (s *Server) SSOAdmin(creds aws.Credentials) *ssoadmin.Client {
	return ssoadmin.NewFromConfig(s.Config(creds))
}

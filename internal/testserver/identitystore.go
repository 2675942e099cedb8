package testserver

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/identitystore"
)

// IdentityStoreID is the example config's identity store.
const IdentityStoreID = "d-9067a1b2c3"

// IdentityStore returns an Identity Store client signed with creds.
func (s *Server) IdentityStore(creds aws.Credentials) *identitystore.Client {
	return identitystore.NewFromConfig(s.Config(creds))
}

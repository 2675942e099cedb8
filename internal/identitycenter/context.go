package identitycenter

import (
	"time"
)

// Context is an identity context: who the Identity Center user is, for
// which application, until when. SSO-OIDC puts it, sealed, in the idToken's
// "sts:identity_context" claim; STS AssumeRole opens it from
// ProvidedContexts and carries it in the role session it creates.
type Context struct {
	Version          int       `json:"v"`
	InstanceArn      string    `json:"ins"`
	InstanceAccount  string    `json:"acct"`
	IdentityStoreID  string    `json:"sid"`
	IdentityStoreArn string    `json:"sarn"`
	UserID           string    `json:"uid"`
	UserName         string    `json:"un"`
	ApplicationArn   string    `json:"app"`
	CredentialID     string    `json:"cid"`
	IssuedAt         time.Time `json:"iat"`
	Expires          time.Time `json:"exp"`
}

// ProviderArn is the only context provider STS accepts here.
const ProviderArn = "arn:aws:iam::aws:contextProvider/IdentityCenter"

// ConditionKeys are the IAM condition keys an identity-enhanced session
// carries (AWS documents these for trusted identity propagation).
func (c *Context) ConditionKeys() map[string]string {
	return map[string]string{
		"identitystore:UserId":           c.UserID,
		"identitystore:IdentityStoreArn": c.IdentityStoreArn,
		"identitycenter:InstanceArn":     c.InstanceArn,
		"identitycenter:ApplicationArn":  c.ApplicationArn,
		"identitycenter:CredentialId":    c.CredentialID,
	}
}

// SetConditionKeys puts ConditionKeys into dst (an iam.Context) under the
// lower-case names iam.Context.Set keeps keys by, with one allocation for
// the five values: every request signed by an identity-enhanced session
// builds them.
func (c *Context) SetConditionKeys(dst map[string][]string) {
	v := []string{c.UserID, c.IdentityStoreArn, c.InstanceArn, c.ApplicationArn, c.CredentialID}
	dst["identitystore:userid"] = v[0:1:1]
	dst["identitystore:identitystorearn"] = v[1:2:2]
	dst["identitycenter:instancearn"] = v[2:3:3]
	dst["identitycenter:applicationarn"] = v[3:4:4]
	dst["identitycenter:credentialid"] = v[4:5:5]
}

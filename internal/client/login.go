package client

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
)

// IssueTestToken asks the built-in IdP (administrator credentials) for a JWT.
func (c *Client) IssueTestToken(ctx context.Context, user, audience string, ttl time.Duration) (string, error) {
	var out struct {
		Token string `json:"token"`
	}
	err := c.Admin(ctx, "IssueTestToken", map[string]any{"userName": user, "audience": audience, "ttlSeconds": int64(ttl / time.Second)}, &out)
	return out.Token, err
}

// Session is an identity-enhanced role session.
type Session struct {
	Credentials aws.Credentials
	Arn         string
}

// IdentitySession exchanges an IdP JWT for an Identity Center context
// (CreateTokenWithIAM) and assumes role with it (AssumeRole with
// ProvidedContexts), signed with c's credentials.
func (c *Client) IdentitySession(ctx context.Context, jwt, application, role, sessionName string, duration time.Duration) (Session, error) {
	tok, err := ssooidc.NewFromConfig(c.AWS).CreateTokenWithIAM(ctx, &ssooidc.CreateTokenWithIAMInput{
		ClientId: aws.String(application), GrantType: aws.String("urn:ietf:params:oauth:grant-type:jwt-bearer"), Assertion: aws.String(jwt),
	})
	if err != nil {
		return Session{}, fmt.Errorf("CreateTokenWithIAM: %w", err)
	}
	if tok.AwsAdditionalDetails == nil || tok.AwsAdditionalDetails.IdentityContext == nil {
		return Session{}, fmt.Errorf("CreateTokenWithIAM returned no identity context")
	}
	ar, err := sts.NewFromConfig(c.AWS).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String(role), RoleSessionName: aws.String(sessionName), DurationSeconds: aws.Int32(int32(duration / time.Second)),
		ProvidedContexts: []ststypes.ProvidedContext{{
			ProviderArn: aws.String("arn:aws:iam::aws:contextProvider/IdentityCenter"), ContextAssertion: tok.AwsAdditionalDetails.IdentityContext,
		}},
	})
	if err != nil {
		return Session{}, fmt.Errorf("AssumeRole: %w", err)
	}
	cr := ar.Credentials
	return Session{Arn: aws.ToString(ar.AssumedRoleUser.Arn), Credentials: aws.Credentials{
		AccessKeyID: aws.ToString(cr.AccessKeyId), SecretAccessKey: aws.ToString(cr.SecretAccessKey), SessionToken: aws.ToString(cr.SessionToken),
		CanExpire: true, Expires: aws.ToTime(cr.Expiration),
	}}, nil
}

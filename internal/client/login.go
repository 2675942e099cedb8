package client

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
)

// IssueTestToken asks the built-in IdP (administrator credentials) for a JWT.
func (c *Client) IssueTestToken(ctx context.Context, user, audience string, ttl time.Duration) (string, error) {
	var out struct {
		Token string `json:"token"`
	}
	err := c.Admin(ctx, "IssueTestToken", map[string]any{"userName": user, "audience": audience, "ttlSeconds": int64(ttl / time.Second)}, &out)
	return out.Token, err
}

// LoginCandidates are the roles and applications the server's rule offers
// `idcgate login` for a caller (administrator call GetLoginCandidates).
type LoginCandidates struct {
	Roles        []string `json:"roles"`
	Applications []struct {
		ApplicationArn string   `json:"applicationArn"`
		Audiences      []string `json:"audiences"`
	} `json:"applications"`
}

// LoginCandidates asks the server (administrator credentials) which roles
// and applications callerArn may log in with.
func (c *Client) LoginCandidates(ctx context.Context, callerArn string) (LoginCandidates, error) {
	var out LoginCandidates
	err := c.Admin(ctx, "GetLoginCandidates", map[string]string{"callerArn": callerArn}, &out)
	return out, err
}

// CallerArn is the ARN of c's credentials (STS GetCallerIdentity).
func (c *Client) CallerArn(ctx context.Context) (string, error) {
	out, err := sts.NewFromConfig(c.AWS).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", fmt.Errorf("GetCallerIdentity: %w", err)
	}
	return aws.ToString(out.Arn), nil
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
		return Session{}, fmt.Errorf("CreateTokenWithIAM: %w", oauthError(err))
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

// oauthError puts SSO-OIDC's OAuth fields into the error: its exceptions
// carry the reason in error and error_description, which the SDK's
// message leaves out ("InvalidGrantException: " and nothing after).
func oauthError(err error) error {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return err
	}
	v := reflect.ValueOf(ae)
	if v.Kind() == reflect.Pointer && !v.IsNil() {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return err
	}
	field := func(name string) string {
		f := v.FieldByName(name)
		if f.IsValid() && f.Kind() == reflect.Pointer && !f.IsNil() && f.Elem().Kind() == reflect.String {
			return f.Elem().String()
		}
		return ""
	}
	desc := field("Error_description")
	if desc == "" {
		return err
	}
	code := field("Error_")
	if code == "" {
		code = ae.ErrorCode()
	}
	return &OAuthError{Code: ae.ErrorCode(), OAuthCode: code, Description: desc, err: err}
}

// OAuthError is an SSO-OIDC refusal with its OAuth error and description.
type OAuthError struct {
	Code        string // the exception, e.g. InvalidGrantException
	OAuthCode   string // e.g. invalid_grant
	Description string
	err         error
}

func (e *OAuthError) Error() string {
	return e.Code + " (" + e.OAuthCode + "): " + e.Description
}

func (e *OAuthError) Unwrap() error { return e.err }

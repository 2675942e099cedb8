package server

import (
	"context"
	"errors"

	"github.com/idcgate/idcgate/internal/oidc"
	"github.com/idcgate/idcgate/internal/protocol/awsjson"
)

type additionalDetails struct {
	IdentityContext string `json:"identityContext,omitempty"`
}

type createTokenWithIAMOutput struct {
	AccessToken          string             `json:"accessToken"`
	TokenType            string             `json:"tokenType"`
	ExpiresIn            int32              `json:"expiresIn"`
	RefreshToken         string             `json:"refreshToken"`
	IdToken              string             `json:"idToken"`
	IssuedTokenType      string             `json:"issuedTokenType"`
	Scope                []string           `json:"scope,omitempty"`
	AwsAdditionalDetails *additionalDetails `json:"awsAdditionalDetails,omitempty"`
}

// registerClientOutput: AWS answers no authorizationEndpoint or
// tokenEndpoint (the model has them, the service sends neither), so
// neither do we. The times are epoch seconds.
type registerClientOutput struct {
	ClientID              string `json:"clientId"`
	ClientSecret          string `json:"clientSecret"`
	ClientIDIssuedAt      int64  `json:"clientIdIssuedAt"`
	ClientSecretExpiresAt int64  `json:"clientSecretExpiresAt"`
}

type startDeviceAuthorizationOutput struct {
	DeviceCode              string `json:"deviceCode"`
	UserCode                string `json:"userCode"`
	VerificationURI         string `json:"verificationUri"`
	VerificationURIComplete string `json:"verificationUriComplete"`
	ExpiresIn               int32  `json:"expiresIn"`
	Interval                int32  `json:"interval"`
}

type createTokenOutput struct {
	AccessToken  string `json:"accessToken"`
	TokenType    string `json:"tokenType"`
	ExpiresIn    int32  `json:"expiresIn"`
	RefreshToken string `json:"refreshToken,omitempty"`
}

// oidcOps are the SSO OIDC operations (restJson, by path). But for
// CreateTokenWithIAM, signed and authorized on the application, each is
// its input decoded, one domain call (which checks the proof the input
// carries) and the answer's wire form.
var oidcOps = opTable[handler]{
	unknown: func(string) string { return "Unsupported operation." },
	ops: map[string]handler{
		"CreateTokenWithIAM": (*Server).createTokenWithIAM,
		"RegisterClient": oidcOp((*oidc.Service).RegisterClient, func(out oidc.RegisterClientOutput) any {
			return registerClientOutput{ClientID: out.ClientID, ClientSecret: out.ClientSecret,
				ClientIDIssuedAt: out.IssuedAt.Unix(), ClientSecretExpiresAt: out.SecretExpires.Unix()}
		}),
		"StartDeviceAuthorization": oidcOp((*oidc.Service).StartDeviceAuthorization, func(out oidc.StartDeviceAuthorizationOutput) any {
			return startDeviceAuthorizationOutput{DeviceCode: out.DeviceCode, UserCode: out.UserCode,
				VerificationURI: out.VerificationURI, VerificationURIComplete: out.VerificationURIComplete,
				ExpiresIn: out.ExpiresIn, Interval: out.Interval}
		}),
		"CreateToken": oidcOp((*oidc.Service).CreateToken, func(out oidc.CreateTokenOutput) any {
			return createTokenOutput{AccessToken: out.AccessToken, TokenType: out.TokenType, ExpiresIn: out.ExpiresIn, RefreshToken: out.RefreshToken}
		}),
	},
}

func (s *Server) serveOIDC(c *call) (any, error) { return serveOp(s, c, oidcOps) }

// oidcOp is an unsigned OIDC operation: decode, call, answer.
func oidcOp[In, Out any](do func(*oidc.Service, context.Context, In) (Out, error), wire func(Out) any) handler {
	return func(s *Server, c *call) (any, error) {
		var in In
		if err := awsjson.Decode(c.body, &in); err != nil {
			return nil, err
		}
		out, err := do(s.d.OIDC, c.ctx, in)
		if err != nil {
			return nil, err
		}
		return wire(out), nil
	}
}

func (s *Server) createTokenWithIAM(c *call) (any, error) {
	var in oidc.Input
	if err := awsjson.Decode(c.body, &in); err != nil {
		return nil, err
	}
	app, err := oidc.ApplicationArn(in)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(c, serviceOIDC, app); err != nil {
		return nil, err
	}
	in.Caller, in.Auth = c.principal, c.authReq
	out, err := s.d.OIDC.CreateTokenWithIAM(c.ctx, in)
	if errors.Is(err, oidc.ErrIssuerUnavailable) {
		// Not the caller's fault: operators need the cause (URL, status).
		c.log.Warn("trusted token issuer keys unavailable", "err", err)
	}
	if err != nil {
		return nil, err
	}
	return createTokenWithIAMOutput{
		AccessToken: out.AccessToken, TokenType: out.TokenType, ExpiresIn: out.ExpiresIn,
		RefreshToken: out.RefreshToken, IdToken: out.IdToken, IssuedTokenType: out.IssuedTokenType,
		Scope: out.Scope, AwsAdditionalDetails: &additionalDetails{IdentityContext: out.IdentityContext},
	}, nil
}

package server

import (
	"errors"

	"github.com/idcgate/idcgate/internal/oidc"
	"github.com/idcgate/idcgate/internal/protocol"
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

func (s *Server) serveOIDC(c *call) (any, error) {
	switch c.op {
	case "CreateTokenWithIAM":
		return s.createTokenWithIAM(c)
	case "RegisterClient":
		var in oidc.RegisterClientInput
		if err := awsjson.Decode(c.body, &in); err != nil {
			return nil, err
		}
		out, err := s.d.OIDC.RegisterClient(c.ctx, in)
		if err != nil {
			return nil, err
		}
		return registerClientOutput{ClientID: out.ClientID, ClientSecret: out.ClientSecret,
			ClientIDIssuedAt: out.IssuedAt.Unix(), ClientSecretExpiresAt: out.SecretExpires.Unix()}, nil
	case "StartDeviceAuthorization":
		var in oidc.StartDeviceAuthorizationInput
		if err := awsjson.Decode(c.body, &in); err != nil {
			return nil, err
		}
		out, err := s.d.OIDC.StartDeviceAuthorization(c.ctx, in)
		if err != nil {
			return nil, err
		}
		return startDeviceAuthorizationOutput{DeviceCode: out.DeviceCode, UserCode: out.UserCode,
			VerificationURI: out.VerificationURI, VerificationURIComplete: out.VerificationURIComplete,
			ExpiresIn: out.ExpiresIn, Interval: out.Interval}, nil
	case "CreateToken":
		var in oidc.CreateTokenInput
		if err := awsjson.Decode(c.body, &in); err != nil {
			return nil, err
		}
		out, err := s.d.OIDC.CreateToken(c.ctx, in)
		if err != nil {
			return nil, err
		}
		return createTokenOutput{AccessToken: out.AccessToken, TokenType: out.TokenType, ExpiresIn: out.ExpiresIn, RefreshToken: out.RefreshToken}, nil
	}
	return nil, protocol.Errorf(protocol.ErrUnknownOperation, "Unsupported operation.")
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

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

func (s *Server) serveOIDC(c *call) (any, error) {
	if c.op != "CreateTokenWithIAM" {
		return nil, protocol.Errorf(protocol.ErrUnknownOperation, "Only CreateTokenWithIAM (POST /token?aws_iam=t) is served; CreateToken needs a registered client.")
	}
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

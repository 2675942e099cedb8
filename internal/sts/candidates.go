package sts

import (
	"context"

	"github.com/idcgate/idcgate/internal/auth"
)

// TokenAction is what an identity-enhanced session of a login role must be
// allowed (on the account's workgroups).
const TokenAction = "redshift-serverless:GetIdentityCenterAuthToken"

// LoginRoles lists the roles (ARNs, sorted) that `idcgate login` may take
// for caller: each trusts caller for sts:AssumeRole and sts:SetContext, as
// AssumeRole with ProvidedContexts will check, and its own policies allow
// TokenAction on the account's workgroups (checked on the wildcard ARN
// ".../workgroup/*", so a role allowed only some workgroups by name is not
// a candidate: pass it with --role). Roots may not assume roles, so they
// get none.
func (s *Service) LoginRoles(ctx context.Context, caller *auth.Principal, req auth.Request) ([]string, error) {
	if caller.Kind == auth.KindRoot {
		return nil, nil
	}
	roles, err := s.Registry.Roles(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, role := range roles {
		if s.trusts(caller, role, "sts:AssumeRole", req) != nil || s.trusts(caller, role, "sts:SetContext", req) != nil {
			continue
		}
		session := role.Session("idcgate-login")
		workgroups := "arn:aws:redshift-serverless:" + req.Region + ":" + role.Account + ":workgroup/*"
		if auth.Authorize(session, TokenAction, workgroups, req, nil) != nil {
			continue
		}
		out = append(out, role.ARN)
	}
	return out, nil
}

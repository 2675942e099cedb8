package tokenlogin

import (
	"context"
	"errors"
	"time"

	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/gateway"
	"github.com/idcgate/idcgate/internal/identitycenter"
	"github.com/idcgate/idcgate/internal/jwtverify"
	"github.com/idcgate/idcgate/internal/oidc"
	"github.com/idcgate/idcgate/internal/ssoadmin"
)

// extJWT logs in with a JWT of an external IdP: the workgroup's Redshift
// IdC application must list, in its AuthorizedTokenIssuerList, the
// trusted token issuer whose keys verify it, with one of its audiences;
// the issuer's claim mapping names the user, who must be admitted by the
// application's managed application; the JWT must carry a jti not used
// before (BEHAVIOUR 10.13).
func (a *Authenticator) extJWT(ctx context.Context, r gateway.AuthRequest) (*gateway.Login, error) {
	if a.OIDC == nil || a.Replays == nil {
		return nil, apierror.New(gateway.ErrBadToken, "this gateway accepts no EXT_JWT: it has no Identity Center")
	}
	t, err := a.target(ctx, r)
	if err != nil {
		return nil, err
	}
	if len(t.app.AuthorizedTokenIssuers) == 0 {
		return nil, apierror.New(gateway.ErrNotAdmitted, "the Redshift IdC application %s trusts no token issuer (its AuthorizedTokenIssuerList is empty), so it accepts no EXT_JWT", t.app.Name)
	}
	accepted := make([]ssoadmin.AuthorizedTokenIssuer, len(t.app.AuthorizedTokenIssuers))
	for i, ti := range t.app.AuthorizedTokenIssuers {
		accepted[i] = ssoadmin.AuthorizedTokenIssuer{TrustedTokenIssuerArn: &ti.TrustedTokenIssuerArn, AuthorizedAudiences: ti.AuthorizedAudiences}
	}
	j, err := a.OIDC.VerifyTrustedJWT(ctx, r.Token, accepted)
	if err != nil {
		return nil, jwtRefusal(err, &t, &j, a.Issuer.Dir)
	}
	jti, _ := j.Claims["jti"].(string)
	if jti == "" {
		return nil, apierror.New(gateway.ErrBadToken, "the EXT_JWT has no jti claim: idcgate requires one, to refuse a JWT used twice")
	}
	exp, _ := j.Claims["exp"].(float64) // the verifier requires a numeric exp
	expires := time.Unix(int64(exp), 0)
	login := t.login()
	login.Claims = a.claims(t, j.User, t.app.ManagedApplicationArn, expires, jti)
	if err := a.admitted(ctx, t, j.User, gateway.TokenExtJWT); err != nil {
		return login, err
	}
	// Last, so that a JWT refused for something else is not spent.
	switch err := a.Replays.Claim(ctx, j.Iss, jti, expires.Add(jwtverify.Leeway)); {
	case errors.Is(err, ErrSeen):
		return login, apierror.New(gateway.ErrReplayed, "the EXT_JWT was already used to log in (its jti %s): idcgate accepts each JWT once, as Redshift does; get a new one from your identity provider", apierror.Printable(jti))
	case err != nil:
		return login, err
	}
	return a.Upstreams.set(ctx, t.scope, t.wg, login)
}

// jwtRefusal says what is wrong with an EXT_JWT, naming the issuer and
// the application; the store's and the directory's own errors pass as
// they are.
func jwtRefusal(err error, t *target, j *oidc.TrustedJWT, dir *identitycenter.Directory) error {
	var ce *jwtverify.ClaimError
	var ae *jwtverify.AlgorithmError
	var nc *oidc.NoMappedClaimError
	bad := func(format string, args ...any) error { return apierror.New(gateway.ErrBadToken, format, args...) }
	switch {
	case errors.Is(err, oidc.ErrIssuerNotAccepted):
		return apierror.New(gateway.ErrNotAdmitted, "the EXT_JWT's issuer %s is not a trusted token issuer of the Redshift IdC application %s (its AuthorizedTokenIssuerList)", apierror.Printable(j.Iss), t.app.Name)
	case errors.Is(err, jwtverify.ErrKeys):
		return &apierror.Error{Kind: gateway.ErrCannotCheck, Message: "the keys of trusted token issuer " + j.Issuer.Name + " could not be fetched, so the EXT_JWT cannot be checked: try again later", Cause: err}
	case errors.Is(err, jwtverify.ErrExpired):
		return gateway.ErrTokenExpired
	case errors.Is(err, jwtverify.ErrAudience):
		return apierror.New(gateway.ErrWrongWorkgroup, "the EXT_JWT's audience is none that the Redshift IdC application %s accepts of trusted token issuer %s", t.app.Name, j.Issuer.Name)
	case errors.As(err, &ae):
		return bad("the EXT_JWT is signed with %s; only RS256 and ES256 are accepted", apierror.Printable(ae.Alg))
	case errors.Is(err, jwtverify.ErrSignature):
		return bad("the EXT_JWT's signature does not verify with the keys of trusted token issuer %s", j.Issuer.Name)
	case errors.As(err, &ce) && errors.Is(err, jwtverify.ErrMissingClaim):
		return bad("the EXT_JWT has no %s claim; it is required", ce.Claim)
	case errors.As(err, &ce):
		return bad("the EXT_JWT's %s claim must be %s", ce.Claim, ce.Want)
	case errors.Is(err, jwtverify.ErrNotYet):
		return bad("the EXT_JWT is not valid yet: its nbf is in the future")
	case errors.Is(err, jwtverify.ErrIssuedInFuture):
		return bad("the EXT_JWT was issued in the future: its iat is later than now")
	case oidc.JWTFault(err):
		return bad("the EXT_JWT is not a well-formed JWT with an iss claim")
	case errors.As(err, &nc):
		return apierror.New(gateway.ErrUnknownUser, "the EXT_JWT has no %s claim, which names its user for trusted token issuer %s", nc.Path, j.Issuer.Name)
	case errors.Is(err, identitycenter.ErrAmbiguousUser):
		return apierror.New(gateway.ErrUnknownUser, "more than one user in identity store %s has %s equal to the EXT_JWT's %s claim; it cannot name one user", dir.IdentityStoreID, j.Issuer.IdentityStoreAttributePath, j.Issuer.ClaimAttributePath)
	case errors.Is(err, identitycenter.ErrNoSuchUser):
		return apierror.New(gateway.ErrUnknownUser, "no user in identity store %s has %s equal to the EXT_JWT's %s claim", dir.IdentityStoreID, j.Issuer.IdentityStoreAttributePath, j.Issuer.ClaimAttributePath)
	}
	return err
}

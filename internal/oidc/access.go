package oidc

import (
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/idcgate/idcgate/internal/identitycenter"
	"github.com/idcgate/idcgate/internal/ssoadmin"
)

// ScopeRedshiftConnect is the access scope a Redshift login needs.
const ScopeRedshiftConnect = "redshift:connect"

// AccessToken is what an access token of this service says: the one
// reader of the sealed format (refreshClaims of kind "access").
type AccessToken struct {
	UserID string
	// ApplicationArn is the application the token was issued for (""
	// for a client bound to none).
	ApplicationArn string
	// Scopes are the scopes granted: those asked for, or, when none were,
	// the application's access scopes and the default ones, which is what
	// Identity Center grants a request without scopes.
	Scopes  []string
	Expires time.Time
}

// HasScope tells whether the token was granted scope sc.
func (a AccessToken) HasScope(sc string) bool { return slices.Contains(a.Scopes, sc) }

// OpenAccessToken opens an access token this service issued
// (CreateTokenWithIAM, CreateToken). One that does not open, or is another
// kind of token (a refresh token), is ErrInvalidGrant; an expired one
// ErrExpiredToken. It says nothing of the user, who may have been deleted
// since: callers read the directory.
func (s *Service) OpenAccessToken(ctx context.Context, token string) (AccessToken, error) {
	var rc refreshClaims
	if s.Tokens == nil || s.Tokens.Open(token, &rc) != nil || rc.Kind != "access" || rc.UserID == "" {
		return AccessToken{}, fail(ErrInvalidGrant, "The access token is invalid.")
	}
	if !s.Clock.Now().Before(rc.Expires) {
		return AccessToken{}, fail(ErrExpiredToken, "The access token has expired.")
	}
	at := AccessToken{UserID: rc.UserID, ApplicationArn: rc.App, Scopes: slices.Clone(rc.Scope), Expires: rc.Expires}
	if len(at.Scopes) == 0 && rc.App != "" && s.Apps != nil {
		app, err := s.Apps.Application(ctx, rc.App)
		switch {
		case errors.Is(err, ssoadmin.ErrNotFound):
			// Deleted since: it grants nothing.
		case err != nil:
			return AccessToken{}, err
		default:
			at.Scopes = append(slices.Clone(alwaysScopes), slices.Sorted(maps.Keys(app.Scopes))...)
		}
	}
	return at, nil
}

// Admits tells whether application appArn admits user: every user when it
// does not require assignment, else those assigned to it directly or
// through one of their groups (as CreateTokenWithIAM checks). An
// application that does not exist admits no one.
func (s *Service) Admits(ctx context.Context, appArn string, user *identitycenter.User) (bool, error) {
	if s.Apps == nil {
		return false, nil
	}
	app, err := s.Apps.Application(ctx, appArn)
	switch {
	case errors.Is(err, ssoadmin.ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	return s.assigned(ctx, &app, user)
}

// assigned: an application that requires assignment admits only users
// assigned to it directly or through one of their groups.
func (s *Service) assigned(ctx context.Context, app *ssoadmin.Application, user *identitycenter.User) (bool, error) {
	if !app.AssignmentRequired {
		return true, nil
	}
	var groups []string
	if s.GroupIDs != nil {
		var err error
		if groups, err = s.GroupIDs(ctx, user); err != nil {
			return false, err
		}
	}
	return s.Apps.IsAssigned(ctx, app.ApplicationArn, user.UserID, groups)
}

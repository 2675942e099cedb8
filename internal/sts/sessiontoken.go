package sts

import (
	"context"
	"fmt"
	"time"

	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/auth"
	"github.com/idcgate/idcgate/internal/validation"
)

// GetSessionTokenInput is GetSessionToken's input.
type GetSessionTokenInput struct {
	DurationSeconds         *int64
	SerialNumber, TokenCode *string
}

// GetSessionToken's session durations (BEHAVIOUR 5.5).
const (
	DefaultUserSession = 12 * time.Hour
	MinUserSession     = 900
	MaxUserSession     = 129600
)

// userSessionOps are the STS operations a GetSessionToken session may
// call, as AWS documents: no other STS operation, and no IAM operation
// without MFA (which idcgate does not have).
var userSessionOps = map[string]bool{"AssumeRole": true, "GetCallerIdentity": true}

// SessionMayCall refuses what a GetSessionToken session may not call in
// STS (the server asks before it serves any STS operation).
func SessionMayCall(caller *auth.Principal, op string) error {
	if caller.UserSession && !userSessionOps[op] {
		return apierror.New(auth.ErrAccessDenied, "Cannot call %s with session credentials obtained by GetSessionToken: they may call only AssumeRole and GetCallerIdentity in STS.", op)
	}
	return nil
}

// GetSessionToken gives an IAM user temporary credentials that act as the
// user, with the user's policies as they are at each request. It needs no
// permission (AWS: authentication operations are not controlled by
// policies). Only an IAM user's long-term keys may call it.
func (s *Service) GetSessionToken(ctx context.Context, caller *auth.Principal, in GetSessionTokenInput) (Credentials, error) {
	var v validation.Collector
	if in.DurationSeconds != nil {
		v.Range("durationSeconds", *in.DurationSeconds, MinUserSession, MaxUserSession)
	}
	if in.SerialNumber != nil {
		v.LengthAndPattern("serialNumber", *in.SerialNumber, 9, 256, serialRe, `[\w+=/:,.@-]*`)
	}
	if in.TokenCode != nil {
		v.LengthAndPattern("tokenCode", *in.TokenCode, 6, 6, tokenCodeRe, `[\d]*`)
	}
	if err := v.Err(); err != nil {
		return Credentials{}, err
	}
	switch {
	case caller.Kind == auth.KindRoot:
		return Credentials{}, apierror.New(auth.ErrAccessDenied, "Cannot call GetSessionToken with the account root's credentials in idcgate: they are the deployment's administrator keys; call it with an IAM user's access key.")
	case caller.Kind != auth.KindUser || caller.UserSession:
		return Credentials{}, apierror.New(auth.ErrAccessDenied, "Cannot call GetSessionToken with session credentials")
	case in.SerialNumber != nil || in.TokenCode != nil:
		// There are no MFA devices to check a code against: refused, never
		// ignored, since a caller passing them expects an MFA session.
		return Credentials{}, apierror.New(auth.ErrAccessDenied, "MultiFactorAuthentication failed: idcgate has no MFA devices, so SerialNumber and TokenCode cannot be verified; call GetSessionToken without them.")
	}
	duration := DefaultUserSession
	if in.DurationSeconds != nil {
		duration = time.Duration(*in.DurationSeconds) * time.Second
	}
	now := s.Clock.Now().UTC()
	return s.issue(session{
		Account: caller.Account, UserArn: caller.ARN, UserID: caller.UserID,
		IssuedAt: now.Truncate(time.Second), Expires: now.Add(duration).Truncate(time.Second),
	})
}

// userPrincipal rebuilds the IAM user of a GetSessionToken session, with
// the user's current policies; a user deleted (or made again: another id)
// ends its sessions.
func (s *Service) userPrincipal(ctx context.Context, ss *session) (*auth.Principal, error) {
	p, ok, err := s.Registry.User(ctx, ss.UserArn)
	if err != nil {
		return nil, err
	}
	if !ok || p.Kind != auth.KindUser || p.UserID != ss.UserID {
		return nil, fmt.Errorf("user %s: %w", ss.UserArn, errRoleGone)
	}
	p.AccessKeyID, p.IssuedAt, p.Expiration, p.UserSession = ss.AccessKeyID, ss.IssuedAt, ss.Expires, true
	return p, nil
}

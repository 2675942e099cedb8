package ssoadmin

import (
	"errors"

	"github.com/idcgate/idcgate/internal/store"
)

// Managed applications: another service's own application in the
// instance (a Redshift IdC application's, provider redshift), written in
// that service's transaction so its record and the application are made
// and deleted together.

// ManagedApplicationInput is what the owning service says of it.
type ManagedApplicationInput struct {
	ApplicationProviderArn string
	Name                   string
	Description            string
	Tags                   []Tag
	// Scopes are the access scopes it starts with (redshift:connect).
	Scopes []string
	// ManagedBy names the owning service and its record, for the refusal
	// of a DeleteApplication.
	ManagedBy string
}

// TrustedTokenIssuerExists reports, in r, whether arn is a trusted token
// issuer of the instance.
func (s *Service) TrustedTokenIssuerExists(r store.Reader, arn string) (bool, error) {
	_, err := s.getTTI(r, arn)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, ErrNotFound):
		return false, nil
	}
	return false, err
}

// CreateManagedApplication makes a managed application in tx. It does not
// require assignment: who may use it is everyone until
// PutApplicationAssignmentConfiguration says otherwise.
func (s *Service) CreateManagedApplication(tx store.Tx, in ManagedApplicationInput) (Application, error) {
	id, err := s.randomHex(8)
	if err != nil {
		return Application{}, err
	}
	if err := s.checkAppQuota(tx); err != nil {
		return Application{}, err
	}
	app := Application{
		ApplicationArn:         s.ApplicationArn("apl-" + id),
		ApplicationProviderArn: in.ApplicationProviderArn,
		ApplicationAccount:     s.Instance.OwnerAccountID,
		InstanceArn:            s.Instance.InstanceArn,
		IdentityStoreArn:       s.Instance.IdentityStoreArn(),
		Name:                   in.Name,
		Description:            in.Description,
		Status:                 StatusEnabled,
		CreatedDate:            s.now(),
		Tags:                   in.Tags,
		ManagedBy:              in.ManagedBy,
	}
	if len(in.Scopes) > 0 {
		app.Scopes = map[string][]string{}
		for _, sc := range in.Scopes {
			app.Scopes[sc] = nil
		}
	}
	return app, store.PutJSON(tx, s.appKey(app.ApplicationArn), app)
}

// DeleteManagedApplication deletes a managed application with its
// assignments in tx; one already gone is no error.
func (s *Service) DeleteManagedApplication(tx store.Tx, arn string) error {
	return s.ifApp(tx, arn, func(app Application) error { return s.deleteApp(tx, app) })
}

// ifApp runs fn on application arn, read in tx; one already gone is no
// error.
func (s *Service) ifApp(tx store.Tx, arn string, fn func(Application) error) error {
	app, err := s.getApp(tx, arn)
	if errors.Is(err, ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	return fn(app)
}

// RenameManagedApplication gives a managed application its owner's new
// display name in tx; one already gone is no error.
func (s *Service) RenameManagedApplication(tx store.Tx, arn, name string) error {
	return s.ifApp(tx, arn, func(app Application) error {
		app.Name = name
		return store.PutJSON(tx, s.appKey(arn), app)
	})
}

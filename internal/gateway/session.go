package gateway

import "github.com/jackc/pgx/v5/pgconn"

// SessionConfig is dsn made into a session of role, authenticated upstream
// by the role's client certificate: the configuration a gateway login
// connects with (sessionConfig), for the Data API's statements, so both
// reach upstream the one way.
func (r *RoleSync) SessionConfig(dsn, role string) (*pgconn.Config, error) {
	return r.sessionConfig(dsn, role)
}

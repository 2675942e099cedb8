package gateway

import (
	"context"

	"github.com/jackc/pgx/v5/pgconn"
)

// SessionConfig is dsn made into a session of role, authenticated upstream
// by the role's client certificate: the configuration a gateway login
// connects with (sessionConfig), for the Data API's statements, so both
// reach upstream the one way.
func (r *RoleSync) SessionConfig(dsn, role string) (*pgconn.Config, error) {
	return r.sessionConfig(dsn, role)
}

// TerminateBackend ends backend pid on dsn, with the service credential,
// when it is still a session of role opened by application (a pid alone
// may be another session's by now). It reports whether one was ended. The
// Data API calls it for a statement whose runner died mid-query, so the
// query does not run on unseen: PostgreSQL only notices a vanished client
// when it next writes to it.
func (r *RoleSync) TerminateBackend(ctx context.Context, dsn string, pid int64, role, application string) (bool, error) {
	p, err := r.pool(ctx, dsn)
	if err != nil {
		return false, err
	}
	var ended bool
	err = p.QueryRow(ctx, `SELECT coalesce(bool_or(pg_terminate_backend(pid)), false) FROM pg_stat_activity
		WHERE pid = $1 AND usename = $2 AND application_name = $3`, pid, role, application).Scan(&ended)
	return ended, err
}

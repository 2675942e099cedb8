package dataapi

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/idcgate/idcgate/internal/apierror"
	"github.com/idcgate/idcgate/internal/validation"
)

// MetaRequest is ListDatabases, ListSchemas, ListTables or DescribeTable:
// a catalog query run synchronously, as the caller's role, paginated.
type MetaRequest struct {
	Scope         Scope
	Caller        Caller
	Workgroup     WorkgroupRef
	Database      string
	SchemaPattern string
	TablePattern  string
	Schema        string
	Table         string
	MaxResults    int
	NextToken     string
}

// Table is one ListTables entry.
type Table struct{ Schema, Name, Type string }

// TableColumn is one DescribeTable column.
type TableColumn struct {
	Column
	Default *string
}

// query runs a catalog query as the caller and returns its rows as text
// (NULL as nil), offset rows in and at most limit+1 of them.
func (s *Service) query(ctx context.Context, req MetaRequest, op, sql string, args ...string) ([][][]byte, int, error) {
	s.init()
	offset := 0
	if req.NextToken != "" {
		p, err := s.Pages.DecodeFor(req.NextToken, op, req.Scope.Account, req.Scope.Region)
		if err == nil {
			offset, err = strconv.Atoi(p.After)
		}
		if err != nil || offset < 0 {
			return nil, 0, validation.Newf("The NextToken is invalid or expired.")
		}
	}
	limit := req.MaxResults
	if limit <= 0 {
		limit = 1000
	}
	ss, err := s.open(ctx, req.Scope, req.Workgroup, req.Database, req.Caller.User)
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) {
			return nil, 0, apierror.New(ErrDatabaseConnection, "Could not connect to database %s of workgroup %s: %s", req.Database, req.Workgroup.Name, pe.Message)
		}
		return nil, 0, &apierror.Error{Kind: ErrDatabaseConnection, Message: "Could not connect to database " + req.Database + " of workgroup " + req.Workgroup.Name + ": " + connectError(err, s).Error(), Cause: err}
	}
	vals := make([][]byte, 0, len(args)+2)
	for _, a := range args {
		vals = append(vals, []byte(a))
	}
	n := len(vals)
	vals = append(vals, []byte(strconv.Itoa(limit+1)), []byte(strconv.Itoa(offset)))
	sql += " LIMIT $" + strconv.Itoa(n+1) + " OFFSET $" + strconv.Itoa(n+2)
	res := ss.pg.ExecParams(ctx, sql, vals, nil, nil, nil).Read()
	ss.release(ctx, res.Err == nil)
	if res.Err != nil {
		var pe *pgconn.PgError
		if errors.As(res.Err, &pe) {
			return nil, 0, validation.Newf("ERROR: %s", pe.Message)
		}
		return nil, 0, &apierror.Error{Kind: ErrDatabaseConnection, Message: "The query on workgroup " + req.Workgroup.Name + " failed.", Cause: res.Err}
	}
	return res.Rows, offset, nil
}

// next is the token of the page after rows (nil when rows ends the list).
func (s *Service) next(req MetaRequest, op string, rows [][][]byte, offset int) ([][][]byte, string, error) {
	limit := req.MaxResults
	if limit <= 0 {
		limit = 1000
	}
	if len(rows) <= limit {
		return rows, "", nil
	}
	tok, err := s.Pages.New(op, req.Scope.Account, req.Scope.Region, strconv.Itoa(offset+limit))
	return rows[:limit], tok, err
}

// pattern is a LIKE pattern, "%" when none was given.
func pattern(p string) string {
	if p == "" {
		return "%"
	}
	return p
}

// names is a page of the values of a one-column metadata query.
func (s *Service) names(ctx context.Context, req MetaRequest, op, sql string, args ...string) ([]string, string, error) {
	rows, off, err := s.query(ctx, req, op, sql, args...)
	if err != nil {
		return nil, "", err
	}
	rows, tok, err := s.next(req, op, rows, off)
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = string(r[0])
	}
	return out, tok, err
}

// ListDatabases lists the upstream's databases the caller may connect to.
func (s *Service) ListDatabases(ctx context.Context, req MetaRequest) ([]string, string, error) {
	return s.names(ctx, req, "ListDatabases", `SELECT datname FROM pg_database
		WHERE datallowconn AND NOT datistemplate AND has_database_privilege(datname, 'CONNECT') ORDER BY datname`)
}

// ListSchemas lists the database's schemas matching SchemaPattern (LIKE).
func (s *Service) ListSchemas(ctx context.Context, req MetaRequest) ([]string, string, error) {
	return s.names(ctx, req, "ListSchemas", `SELECT nspname FROM pg_namespace
		WHERE nspname LIKE $1 AND nspname NOT LIKE 'pg\_toast%' AND nspname NOT LIKE 'pg\_temp\_%' ORDER BY nspname`, pattern(req.SchemaPattern))
}

// ListTables lists tables and views matching the patterns (LIKE).
func (s *Service) ListTables(ctx context.Context, req MetaRequest) ([]Table, string, error) {
	const op = "ListTables"
	rows, off, err := s.query(ctx, req, op, `SELECT n.nspname, c.relname,
		CASE WHEN n.nspname IN ('pg_catalog', 'information_schema') THEN 'SYSTEM TABLE'
		     WHEN c.relkind IN ('v', 'm') THEN 'VIEW'
		     WHEN c.relpersistence = 't' THEN 'LOCAL TEMPORARY'
		     ELSE 'TABLE' END
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname LIKE $1 AND c.relname LIKE $2
		ORDER BY n.nspname, c.relname`, pattern(req.SchemaPattern), pattern(req.TablePattern))
	if err != nil {
		return nil, "", err
	}
	rows, tok, err := s.next(req, op, rows, off)
	out := make([]Table, len(rows))
	for i, r := range rows {
		out[i] = Table{Schema: string(r[0]), Name: string(r[1]), Type: string(r[2])}
	}
	return out, tok, err
}

// DescribeTable lists the columns of the tables matching Schema and Table
// (every schema or table when not given), in order.
func (s *Service) DescribeTable(ctx context.Context, req MetaRequest) ([]TableColumn, string, error) {
	const op = "DescribeTable"
	schema, table := req.Schema, req.Table
	if schema == "" {
		schema = "%"
	} else {
		schema = likeLiteral(schema)
	}
	if table == "" {
		table = "%"
	} else {
		table = likeLiteral(table)
	}
	rows, off, err := s.query(ctx, req, op, `SELECT n.nspname, c.relname, a.attname, a.atttypid, a.atttypmod,
		format_type(a.atttypid, a.atttypmod), a.attnotnull, pg_get_expr(d.adbin, d.adrelid)
		FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
		WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
		AND n.nspname LIKE $1 AND c.relname LIKE $2
		ORDER BY n.nspname, c.relname, a.attnum`, schema, table)
	if err != nil {
		return nil, "", err
	}
	rows, tok, err := s.next(req, op, rows, off)
	out := make([]TableColumn, len(rows))
	for i, r := range rows {
		oid, _ := strconv.ParseUint(string(r[3]), 10, 32)
		mod, _ := strconv.ParseInt(string(r[4]), 10, 32)
		c := columnOf(pgconn.FieldDescription{Name: string(r[2]), DataTypeOID: uint32(oid), TypeModifier: int32(mod)})
		if c.TypeName == "unknown" {
			c.TypeName = string(r[5])
		}
		c.SchemaName, c.TableName = string(r[0]), string(r[1])
		if string(r[6]) == "t" {
			c.Nullable = 0
		}
		tc := TableColumn{Column: c}
		if r[7] != nil {
			d := string(r[7])
			tc.Default = &d
		}
		out[i] = tc
	}
	return out, tok, err
}

// likeLiteral escapes LIKE's wildcards: DescribeTable names one schema or table.
func likeLiteral(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

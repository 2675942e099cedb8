package dataapi

import (
	"encoding/base64"
	"encoding/hex"
	"math"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/idcgate/idcgate/internal/jsonenc"
)

// Type OIDs of PostgreSQL's built-in types that map to a typed Field.
const (
	oidBool    = 16
	oidBytea   = 17
	oidInt8    = 20
	oidInt2    = 21
	oidInt4    = 23
	oidOID     = 26
	oidFloat4  = 700
	oidFloat8  = 701
	oidMoney   = 790
	oidNumeric = 1700
	oidVarchar = 1043
	oidBpchar  = 1042
	oidText    = 25
	oidName    = 19
)

var typeNames = pgtype.NewMap()

// columnOf is a result column's metadata from its row description (the
// table's schema and name, and NOT NULL, are filled in later from the
// catalog when the column is a table's).
func columnOf(f pgconn.FieldDescription) Column {
	c := Column{Name: f.Name, Nullable: 1, TypeName: "unknown"}
	if t, ok := typeNames.TypeForOID(f.DataTypeOID); ok {
		c.TypeName = t.Name
	}
	mod := f.TypeModifier
	switch f.DataTypeOID {
	case oidInt2, oidInt4, oidInt8:
		c.Signed = true
		c.Precision = map[uint32]int32{oidInt2: 5, oidInt4: 10, oidInt8: 19}[f.DataTypeOID]
	case oidFloat4, oidFloat8:
		c.Signed = true
		c.Precision = map[uint32]int32{oidFloat4: 8, oidFloat8: 17}[f.DataTypeOID]
	case oidNumeric:
		c.Signed = true
		if mod >= 4 {
			c.Precision = ((mod - 4) >> 16) & 0xffff
			c.Scale = (mod - 4) & 0xffff
		}
	case oidMoney:
		c.Signed, c.Currency = true, true
	case oidVarchar, oidBpchar:
		c.CaseSens = true
		if mod >= 4 {
			c.Length = mod - 4
			c.Precision = mod - 4
		}
	case oidText, oidName:
		c.CaseSens = true
	}
	return c
}

// appendField appends one value, in PostgreSQL's text format, as AWS's
// Field union: longValue for integers, doubleValue for floats,
// booleanValue, blobValue for bytea, isNull, and stringValue for the rest
// (numeric too, which a double would round, as Redshift does).
func appendField(b []byte, oid uint32, v []byte) []byte {
	if v == nil {
		return append(b, `{"isNull":true}`...)
	}
	switch oid {
	case oidInt2, oidInt4, oidInt8, oidOID:
		b = append(b, `{"longValue":`...)
		b = append(b, v...)
		return append(b, '}')
	case oidFloat4, oidFloat8:
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			break
		}
		b = append(b, `{"doubleValue":`...)
		switch {
		case math.IsNaN(f):
			b = append(b, `"NaN"`...)
		case math.IsInf(f, 1):
			b = append(b, `"Infinity"`...)
		case math.IsInf(f, -1):
			b = append(b, `"-Infinity"`...)
		default:
			b = strconv.AppendFloat(b, f, 'g', -1, 64)
		}
		return append(b, '}')
	case oidBool:
		if string(v) == "t" {
			return append(b, `{"booleanValue":true}`...)
		}
		return append(b, `{"booleanValue":false}`...)
	case oidBytea:
		if raw, err := hex.DecodeString(strings.TrimPrefix(string(v), `\x`)); err == nil {
			b = append(b, `{"blobValue":"`...)
			b = base64.StdEncoding.AppendEncode(b, raw)
			return append(b, `"}`...)
		}
	}
	b = append(b, `{"stringValue":`...)
	b = jsonenc.AppendString(b, string(v))
	return append(b, '}')
}

// rewriteParams turns the named parameters ":name" of sql into positional
// ones ("$1", …) for the names in params, outside string literals, quoted
// identifiers, dollar quotes and comments, leaving "::" casts alone. It
// returns the SQL and the values in order; a name used twice is one
// parameter.
func rewriteParams(sql string, params []Param) (string, [][]byte) {
	if len(params) == 0 {
		return sql, nil
	}
	index := map[string]int{}
	vals := make([][]byte, 0, len(params))
	value := map[string]string{}
	for _, p := range params {
		value[p.Name] = p.Value
	}
	var out strings.Builder
	out.Grow(len(sql) + 8)
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(sql) {
				if sql[j] == c {
					if j+1 < len(sql) && sql[j+1] == c {
						j += 2
						continue
					}
					break
				}
				j++
			}
			j = min(j+1, len(sql))
			out.WriteString(sql[i:j])
			i = j
		case c == '-' && i+1 < len(sql) && sql[i+1] == '-':
			j := strings.IndexByte(sql[i:], '\n')
			if j < 0 {
				j = len(sql) - i
			}
			out.WriteString(sql[i : i+j])
			i += j
		case c == '/' && i+1 < len(sql) && sql[i+1] == '*':
			j := strings.Index(sql[i+2:], "*/")
			end := len(sql)
			if j >= 0 {
				end = i + 2 + j + 2
			}
			out.WriteString(sql[i:end])
			i = end
		case c == '$' && dollarTag(sql[i:]) != "":
			tag := dollarTag(sql[i:])
			j := strings.Index(sql[i+len(tag):], tag)
			end := len(sql)
			if j >= 0 {
				end = i + len(tag) + j + len(tag)
			}
			out.WriteString(sql[i:end])
			i = end
		case c == ':' && i+1 < len(sql) && sql[i+1] == ':':
			out.WriteString("::")
			i += 2
		case c == ':' && i+1 < len(sql) && isNameStart(sql[i+1]) && (i == 0 || !isNameChar(sql[i-1])):
			j := i + 1
			for j < len(sql) && isNameChar(sql[j]) {
				j++
			}
			name := sql[i+1 : j]
			v, ok := value[name]
			if !ok {
				out.WriteString(sql[i:j])
				i = j
				continue
			}
			n, seen := index[name]
			if !seen {
				vals = append(vals, []byte(v))
				n = len(vals)
				index[name] = n
			}
			out.WriteString("$" + strconv.Itoa(n))
			i = j
		default:
			out.WriteByte(c)
			i++
		}
	}
	return out.String(), vals
}

// dollarTag is the dollar-quote opening s starts with ("$$", "$tag$"), or "".
func dollarTag(s string) string {
	for j := 1; j < len(s); j++ {
		switch {
		case s[j] == '$':
			return s[:j+1]
		case !isNameChar(s[j]) || (j == 1 && s[j] >= '0' && s[j] <= '9'):
			return ""
		}
	}
	return ""
}

func isNameStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isNameChar(c byte) bool { return isNameStart(c) || c >= '0' && c <= '9' }

// Package awsquery is the awsQuery codec (STS, Redshift): form-encoded
// requests, XML responses wrapped in <ActionResponse><ActionResult>, and
// <ErrorResponse> errors with Type, Code and Message.
package awsquery

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/idcgate/idcgate/internal/awserror"
	"github.com/idcgate/idcgate/internal/protocol"
)

// Namespaces of the XML documents.
const (
	STSNamespace      = "https://sts.amazonaws.com/doc/2011-06-15/"
	RedshiftNamespace = "http://redshift.amazonaws.com/doc/2012-12-01/"
	IAMNamespace      = "https://iam.amazonaws.com/doc/2010-05-08/"
)

// Params is a parsed request.
type Params url.Values

// Parse reads the form body (and, for GET, the query string).
func Parse(r *http.Request, body []byte) (Params, error) {
	vals := url.Values{}
	if len(bytes.TrimSpace(body)) > 0 {
		v, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, protocol.Errorf(protocol.ErrSerialization, "The request body is not a valid form-encoded query.")
		}
		vals = v
	}
	if len(vals) == 0 {
		for k, v := range r.URL.Query() {
			if !strings.HasPrefix(k, "X-Amz-") {
				vals[k] = v
			}
		}
	}
	return Params(vals), nil
}

// Get returns the first value of name.
func (p Params) Get(name string) string { return url.Values(p).Get(name) }

// Has reports whether name is present.
func (p Params) Has(name string) bool { return url.Values(p).Has(name) }

// Members returns list members name.member.N.<field> as maps, in order N=1….
func (p Params) Members(name string, fields ...string) []map[string]string {
	var out []map[string]string
	for i := 1; ; i++ {
		prefix := fmt.Sprintf("%s.member.%d.", name, i)
		m := map[string]string{}
		found := false
		for _, f := range fields {
			if p.Has(prefix + f) {
				m[f] = p.Get(prefix + f)
				found = true
			}
		}
		if !found {
			return out
		}
		out = append(out, m)
	}
}

// WriteResponse writes <ActionResponse xmlns><result/><ResponseMetadata/>.
// result must marshal as <ActionResult>.
func WriteResponse(w http.ResponseWriter, action, xmlns, requestID string, result any) {
	var b bytes.Buffer
	fmt.Fprintf(&b, `<%sResponse xmlns="%s">`, action, xmlns)
	if result != nil {
		enc, err := xml.Marshal(result)
		if err != nil {
			WriteError(w, awserror.From(err, protocol.AWSQuery), xmlns, requestID)
			return
		}
		b.Write(enc)
	}
	b.WriteString("<ResponseMetadata><RequestId>")
	xml.EscapeText(&b, []byte(requestID))
	fmt.Fprintf(&b, "</RequestId></ResponseMetadata></%sResponse>", action)
	write(w, http.StatusOK, b.Bytes())
}

// WriteError writes an <ErrorResponse>.
func WriteError(w http.ResponseWriter, e *awserror.APIError, xmlns, requestID string) {
	var b bytes.Buffer
	typ := "Sender"
	if !e.Sender {
		typ = "Receiver"
	}
	fmt.Fprintf(&b, `<ErrorResponse xmlns="%s"><Error><Type>%s</Type><Code>`, xmlns, typ)
	xml.EscapeText(&b, []byte(e.Code))
	b.WriteString("</Code><Message>")
	xml.EscapeText(&b, []byte(e.Message))
	b.WriteString("</Message></Error><RequestId>")
	xml.EscapeText(&b, []byte(requestID))
	b.WriteString("</RequestId></ErrorResponse>")
	write(w, e.Status, b.Bytes())
}

func write(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/xml")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

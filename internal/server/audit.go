package server

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/idcgate/idcgate/internal/audit"
	"github.com/idcgate/idcgate/internal/auth"
	"github.com/idcgate/idcgate/internal/awserror"
	"github.com/idcgate/idcgate/internal/issuer"
)

var eventSources = map[string]string{
	serviceServerless: "redshift-serverless.amazonaws.com",
	serviceSTS:        "sts.amazonaws.com",
	serviceRedshift:   "redshift.amazonaws.com",
	serviceOIDC:       "sso-oauth.amazonaws.com",
	serviceAdmin:      "idcgate.amazonaws.com",
}

// IdentityFor is the CloudTrail userIdentity of a principal (nil: unknown).
func IdentityFor(p *auth.Principal) audit.Identity {
	if p == nil {
		return audit.Identity{Type: "Unknown"}
	}
	id := audit.Identity{PrincipalID: p.UserID, ARN: p.ARN, AccountID: p.Account, AccessKeyID: p.AccessKeyID}
	switch p.Kind {
	case auth.KindRoot:
		id.Type = "Root"
	case auth.KindUser:
		id.Type, id.UserName = "IAMUser", p.Name
	default:
		id.Type = "AssumedRole"
	}
	if ic := p.IdentityContext; ic != nil {
		id.OnBehalfOf = &audit.OnBehalfOf{UserID: ic.UserID, IdentityStoreArn: ic.IdentityStoreArn}
	}
	return id
}

func (s *Server) auditRecord(r *http.Request, rt routed, reqID string, body []byte, p *auth.Principal, err error) *audit.Record {
	// eventTime is when the request arrived, as in CloudTrail; the intent
	// and the final record of one call agree on it.
	at := rt.start
	if at.IsZero() {
		at = s.d.Now()
	}
	rec := &audit.Record{
		EventTime: at.UTC(), EventSource: eventSources[rt.service], EventName: rt.op,
		AWSRegion: s.d.Region, SourceIPAddress: sourceIP(r), UserAgent: r.UserAgent(),
		UserIdentity: IdentityFor(p), RequestID: reqID, ReadOnly: readOnly(rt.op),
	}
	if p != nil {
		rec.RecipientAccountID = p.Account
	}
	rec.RequestParameters = redactedParameters(rt, body)
	if err != nil {
		e := awserror.From(err, rt.protocol)
		rec.ErrorCode = e.Code
		if !e.Internal {
			rec.ErrorMessage = e.Message
		}
	}
	return rec
}

// readOnly is CloudTrail's readOnly: the operation changes nothing.
func readOnly(op string) bool {
	for _, p := range []string{"Get", "List", "Describe", "Lookup", "Inspect"} {
		if strings.HasPrefix(op, p) {
			return true
		}
	}
	return false
}

// redactedParameters is the record's requestParameters: the body's members
// without secrets. The body every SDK sends for GetIdentityCenterAuthToken
// ({"workgroupNames":[…]} with plain names) is built directly, equal to
// decoding it and redacting (it has no secret member), without
// encoding/json's decoder and the copy.
func redactedParameters(rt routed, body []byte) map[string]any {
	if rt.service != serviceSTS && rt.service != serviceRedshift {
		if names, ok := issuer.PlainNames(body); ok {
			list := make([]any, len(names))
			for i, n := range names {
				list[i] = n
			}
			return map[string]any{"workgroupNames": list}
		}
	}
	return audit.Redact(requestParameters(rt, body))
}

func requestParameters(rt routed, body []byte) map[string]any {
	if len(body) == 0 {
		return nil
	}
	if rt.service == serviceSTS || rt.service == serviceRedshift {
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return nil
		}
		out := map[string]any{}
		for k, v := range vals {
			if k == "Action" || k == "Version" {
				continue
			}
			out[k] = strings.Join(v, ",")
		}
		return out
	}
	var m map[string]any
	if json.Unmarshal(body, &m) != nil {
		return nil
	}
	return m
}

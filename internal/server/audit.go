package server

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/idcgate/idcgate/internal/audit"
	"github.com/idcgate/idcgate/internal/auth"
	"github.com/idcgate/idcgate/internal/awserror"
	"github.com/idcgate/idcgate/internal/issuer"
	"github.com/idcgate/idcgate/internal/protocol"
	"github.com/idcgate/idcgate/internal/protocol/awsquery"
)

var eventSources = map[string]string{
	serviceServerless:    "redshift-serverless.amazonaws.com",
	serviceSTS:           "sts.amazonaws.com",
	serviceRedshift:      "redshift.amazonaws.com",
	serviceOIDC:          "sso-oauth.amazonaws.com",
	serviceAdmin:         "idcgate.amazonaws.com",
	serviceDataAPI:       "redshift-data.amazonaws.com",
	serviceSSOAdmin:      "sso.amazonaws.com",
	serviceIAM:           "iam.amazonaws.com",
	serviceIdentityStore: "identitystore.amazonaws.com",
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
		at = s.d.Clock.Now()
	}
	name := rt.opLabel()
	rec := &audit.Record{
		EventTime: at.UTC(), EventSource: eventSources[rt.service], EventName: name,
		AWSRegion: s.d.Region, SourceIPAddress: sourceIP(r), UserAgent: clipUTF8(r.UserAgent(), maxUserAgent),
		UserIdentity: IdentityFor(p), RequestID: reqID, ReadOnly: readOnly(name),
	}
	if p != nil {
		rec.RecipientAccountID = p.Account
	} else if rt.unsigned() && s.d.Directory != nil {
		// An unsigned call no credential names (SSO-OIDC's, or a web
		// identity whose token did not verify) is recorded as the
		// Identity Center instance's account's event.
		rec.RecipientAccountID = s.d.Directory.Account
	}
	if rt.caller != nil && rt.caller.Type != "" {
		rec.UserIdentity, rec.RecipientAccountID = *rt.caller, rt.caller.AccountID
		rec.UserIdentity.AccountID = ""
	}
	if rt.service == serviceIAM {
		rec.AWSRegion = iamRegion // a global service's events are us-east-1's (CloudTrail)
	}
	switch {
	case name == unknownOp:
		// An authenticated caller tried an operation not served: the name
		// (validOpName bounds it) says what, and the body means nothing.
		rec.AdditionalEventData = map[string]any{"operation": rt.op}
	case p == nil && len(body)+len(r.URL.RawQuery) > maxUnauthenticatedParams:
		// Anyone can send a large body unsigned; its record stays small.
		rec.AdditionalEventData = map[string]any{"requestParametersOmitted": "too large for an unauthenticated call"}
	default:
		rec.RequestParameters = redactedParameters(r, rt, body)
	}
	if err != nil {
		e := awserror.From(err, rt.protocol)
		rec.ErrorCode = e.Code
		if !e.Internal {
			rec.ErrorMessage = e.Message
		}
	}
	return rec
}

// Bounds on what a record keeps of client-controlled text.
const (
	maxUserAgent = 1024
	// maxUnauthenticatedParams is the most request text (body and query)
	// whose parameters a call that failed authentication has recorded.
	maxUnauthenticatedParams = 4096
)

// clipUTF8 cuts s to at most n bytes, on a character boundary.
func clipUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

// readOnly is CloudTrail's readOnly: the operation changes nothing.
func readOnly(op string) bool {
	if op == "IsMemberInGroups" { // the Identity Store's one read not named Get/List/Describe
		return true
	}
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
func redactedParameters(r *http.Request, rt routed, body []byte) map[string]any {
	if rt.protocol != protocol.AWSQuery {
		if names, ok := issuer.PlainNames(body); ok {
			list := make([]any, len(names))
			for i, n := range names {
				list[i] = n
			}
			return map[string]any{"workgroupNames": list}
		}
	}
	params := audit.Redact(requestParameters(r, rt, body))
	switch rt.service {
	case serviceDataAPI:
		hideSQL(params)
	case serviceIdentityStore:
		hidePersonal(params)
	case serviceOIDC:
		hideOAuthCodes(params)
	}
	return params
}

// identityStoreShown are the identitystore members a record shows: ids,
// paging and attribute paths. Every other value (user names, names,
// emails, addresses, phone numbers, display names, attribute values) is
// a person's data, sensitive in the service's model, and CloudTrail hides
// it.
var identityStoreShown = map[string]bool{
	"IdentityStoreId": true, "UserId": true, "GroupId": true, "MembershipId": true, "GroupIds": true,
	"MaxResults": true, "NextToken": true, "AttributePath": true, "Issuer": true,
	// Containers whose own members are judged one by one.
	"MemberId": true, "AlternateIdentifier": true, "UniqueAttribute": true, "ExternalId": true,
	"Operations": true, "Filters": true,
}

// hidePersonal hides an Identity Store call's personal data, at any depth.
func hidePersonal(params map[string]any) {
	for k, v := range params {
		if !identityStoreShown[k] {
			params[k] = audit.Hidden
			continue
		}
		switch v := v.(type) {
		case map[string]any:
			hidePersonal(v)
		case []any:
			for _, e := range v {
				if m, ok := e.(map[string]any); ok {
					hidePersonal(m)
				}
			}
		}
	}
}

// oauthCodes are SSO-OIDC members that are bearer secrets without "token"
// or "secret" in their names (audit.Redact hides those).
var oauthCodes = []string{"code", "codeVerifier", "deviceCode"}

// hideOAuthCodes hides them: whoever reads the trail must not be able to
// redeem a code.
func hideOAuthCodes(params map[string]any) {
	// Any case: the decoder matches member names ignoring case.
	for k := range params {
		for _, c := range oauthCodes {
			if strings.EqualFold(k, c) {
				params[k] = audit.Hidden
			}
		}
	}
}

// hideSQL hides a Data API call's SQL text and parameter values, as
// CloudTrail does for redshift-data: they can hold the data itself. The
// parameters' names stay.
func hideSQL(params map[string]any) {
	for _, k := range []string{"Sql", "Sqls"} {
		if _, ok := params[k]; ok {
			params[k] = audit.Hidden
		}
	}
	if list, ok := params["Parameters"].([]any); ok {
		for i, p := range list {
			if m, ok := p.(map[string]any); ok {
				list[i] = map[string]any{"name": m["name"], "value": audit.Hidden}
			} else {
				list[i] = audit.Hidden
			}
		}
	} else if _, ok := params["Parameters"]; ok {
		params["Parameters"] = audit.Hidden
	}
}

// requestParameters are the parameters as the operation reads them: for
// awsQuery, awsquery.Parse's (the form body, or the query string of the GET
// form), so every form of a call records the same.
func requestParameters(r *http.Request, rt routed, body []byte) map[string]any {
	if rt.protocol == protocol.AWSQuery {
		vals, err := awsquery.Parse(r, body)
		if err != nil || len(vals) == 0 {
			return nil
		}
		out := map[string]any{}
		for k, v := range vals {
			// SigV4's query parameters (X-Amz-Signature, …) in any case
			// are the signature, not the call's.
			if k == "Action" || k == "Version" || strings.HasPrefix(strings.ToLower(k), "x-amz-") {
				continue
			}
			out[k] = strings.Join(v, ",")
		}
		if len(out) == 0 {
			return nil
		}
		return out
	}
	if len(body) == 0 {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(body, &m) != nil {
		return nil
	}
	return m
}

// Package audit is the audit trail's record: one CloudTrail-shaped JSON
// event per API call and gateway login, its encoding, the redaction its
// request parameters pass through (secrets never enter a record), and the
// store keys the trail is kept under.
//
// The rooms around it each have one job:
//
//	audit/trail      the Log: group commit of records to the file and the store
//	audit/logfile    the JSON-lines file (append, fdatasync, partial-line cut)
//	audit/storecopy  the store copy behind the file, its mark and catch-up
//	audit/journal    intents committed with a call's change; Recover, Pending
//	audit/retention  pruning of old store copies
//	audit/query      reading records back: Lookup, Filter, Follower
package audit

import (
	"bufio"
	"encoding/json"
	"os"
	"time"

	"github.com/idcgate/idcgate/internal/ids"
)

// Identity is CloudTrail's userIdentity.
type Identity struct {
	Type        string      `json:"type"`
	PrincipalID string      `json:"principalId,omitempty"`
	ARN         string      `json:"arn,omitempty"`
	AccountID   string      `json:"accountId,omitempty"`
	AccessKeyID string      `json:"accessKeyId,omitempty"`
	UserName    string      `json:"userName,omitempty"`
	OnBehalfOf  *OnBehalfOf `json:"onBehalfOf,omitempty"`
	// IdentityProvider is a WebIdentityUser's provider (its IAM OIDC
	// provider ARN), as CloudTrail records AssumeRoleWithWebIdentity.
	IdentityProvider string `json:"identityProvider,omitempty"`
}

// OnBehalfOf names the Identity Center user of an identity-enhanced session.
type OnBehalfOf struct {
	UserID           string `json:"userId"`
	IdentityStoreArn string `json:"identityStoreArn,omitempty"`
}

// Record is one event.
type Record struct {
	EventVersion      string         `json:"eventVersion"`
	EventID           string         `json:"eventID"`
	EventTime         time.Time      `json:"eventTime"`
	EventSource       string         `json:"eventSource"`
	EventName         string         `json:"eventName"`
	EventType         string         `json:"eventType"`
	AWSRegion         string         `json:"awsRegion"`
	SourceIPAddress   string         `json:"sourceIPAddress"`
	UserAgent         string         `json:"userAgent,omitempty"`
	UserIdentity      Identity       `json:"userIdentity"`
	RequestParameters map[string]any `json:"requestParameters,omitempty"`
	ErrorCode         string         `json:"errorCode,omitempty"`
	// AdditionalEventData marks records written by journal.Recover.
	AdditionalEventData map[string]any `json:"additionalEventData,omitempty"`
	ErrorMessage        string         `json:"errorMessage,omitempty"`
	RequestID           string         `json:"requestID"`
	ReadOnly            bool           `json:"readOnly"`
	RecipientAccountID  string         `json:"recipientAccountId,omitempty"`
}

// Fill gives a record its id, version and type, and encodes it (one line
// of the file, and the store copy's value).
func Fill(r *Record) ([]byte, error) {
	if r.EventID == "" {
		r.EventID = ids.MustUUID()
	}
	r.EventVersion = "1.09"
	if r.EventType == "" {
		r.EventType = "AwsApiCall"
	}
	return encode(r)
}

// EventID is the eventID of an encoded record ("" if it is not one).
func EventID(e json.RawMessage) string {
	var r struct {
		EventID string `json:"eventID"`
	}
	json.Unmarshal(e, &r)
	return r.EventID
}

// ReadFile reads a JSON-lines audit file (for tools and tests).
func ReadFile(path string) ([]Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Record
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, sc.Err()
}

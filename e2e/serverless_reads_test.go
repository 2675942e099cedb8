package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless"
	"github.com/aws/aws-sdk-go-v2/service/redshiftserverless/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/idcgate/idcgate/internal/testserver"
)

// TestReadOperations: the read operations tools call after a create answer
// truthfully (nothing exists but namespaces, workgroups and the two
// tracks) and validate their inputs as AWS does.
func TestReadOperations(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{Edit: fastTransitions(0)})
	ctx := context.Background()
	c := srv.Serverless(srv.Admin)
	wg, err := c.GetWorkgroup(ctx, &redshiftserverless.GetWorkgroupInput{WorkgroupName: aws.String("demo")})
	if err != nil {
		t.Fatal(err)
	}
	wgArn := aws.ToString(wg.Workgroup.WorkgroupArn)

	t.Run("endpoints", func(t *testing.T) {
		out, err := c.ListEndpointAccess(ctx, &redshiftserverless.ListEndpointAccessInput{WorkgroupName: aws.String("demo")})
		if err != nil || out.Endpoints == nil || len(out.Endpoints) != 0 || out.NextToken != nil {
			t.Fatalf("ListEndpointAccess = %+v %v", out, err)
		}
		_, err = c.ListEndpointAccess(ctx, &redshiftserverless.ListEndpointAccessInput{WorkgroupName: aws.String("nope")})
		wantResourceName(t, err, "nope")
		_, err = c.ListEndpointAccess(ctx, &redshiftserverless.ListEndpointAccessInput{OwnerAccount: aws.String("12")})
		wantAPIError(t, err, "ValidationException", 400, `1 validation error detected: Value '12' at 'ownerAccount' failed to satisfy constraint: Member must satisfy regular expression pattern: (\d{12})`)
		_, err = c.ListEndpointAccess(ctx, &redshiftserverless.ListEndpointAccessInput{MaxResults: aws.Int32(101)})
		wantAPIError(t, err, "ValidationException", 400, "1 validation error detected: Value '101' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100")
		_, err = c.ListEndpointAccess(ctx, &redshiftserverless.ListEndpointAccessInput{NextToken: aws.String("made-up")})
		wantAPIError(t, err, "ValidationException", 400, "Invalid nextToken provided.")
		_, err = c.GetEndpointAccess(ctx, &redshiftserverless.GetEndpointAccessInput{EndpointName: aws.String("my-endpoint")})
		wantAPIError(t, err, "ResourceNotFoundException", 400, "Endpoint my-endpoint not found.")
		wantResourceName(t, err, "my-endpoint")
	})

	t.Run("usage limits", func(t *testing.T) {
		for _, in := range []*redshiftserverless.ListUsageLimitsInput{
			{}, {ResourceArn: &wgArn, UsageType: types.UsageLimitUsageTypeServerlessCompute},
		} {
			out, err := c.ListUsageLimits(ctx, in)
			if err != nil || out.UsageLimits == nil || len(out.UsageLimits) != 0 {
				t.Fatalf("ListUsageLimits = %+v %v", out, err)
			}
		}
		missing := "arn:aws:redshift-serverless:us-east-1:123456789012:workgroup/00000000-0000-4000-8000-000000000000"
		_, err := c.ListUsageLimits(ctx, &redshiftserverless.ListUsageLimitsInput{ResourceArn: &missing})
		wantResourceName(t, err, missing)
		_, err = c.ListUsageLimits(ctx, &redshiftserverless.ListUsageLimitsInput{UsageType: "gpu"})
		wantAPIError(t, err, "ValidationException", 400, "")
		_, err = c.ListUsageLimits(ctx, &redshiftserverless.ListUsageLimitsInput{NextToken: aws.String("abcdefgh")})
		wantAPIError(t, err, "InvalidPaginationException", 400, "Invalid nextToken provided.")
		_, err = c.ListUsageLimits(ctx, &redshiftserverless.ListUsageLimitsInput{NextToken: aws.String("short")})
		wantAPIError(t, err, "ValidationException", 400, "1 validation error detected: Value 'short' at 'nextToken' failed to satisfy constraint: Member must have length greater than or equal to 8")
	})

	t.Run("snapshots, recovery points, scheduled actions", func(t *testing.T) {
		snaps, err := c.ListSnapshots(ctx, &redshiftserverless.ListSnapshotsInput{NamespaceName: aws.String("demo"), StartTime: aws.Time(time.Now().Add(-time.Hour))})
		if err != nil || snaps.Snapshots == nil || len(snaps.Snapshots) != 0 {
			t.Fatalf("ListSnapshots = %+v %v", snaps, err)
		}
		_, err = c.ListSnapshots(ctx, &redshiftserverless.ListSnapshotsInput{NamespaceName: aws.String("nope")})
		wantResourceName(t, err, "nope")
		_, err = c.ListSnapshots(ctx, &redshiftserverless.ListSnapshotsInput{NamespaceArn: &wgArn})
		wantResourceName(t, err, wgArn)
		rps, err := c.ListRecoveryPoints(ctx, &redshiftserverless.ListRecoveryPointsInput{NamespaceName: aws.String("demo")})
		if err != nil || rps.RecoveryPoints == nil || len(rps.RecoveryPoints) != 0 {
			t.Fatalf("ListRecoveryPoints = %+v %v", rps, err)
		}
		_, err = c.ListRecoveryPoints(ctx, &redshiftserverless.ListRecoveryPointsInput{NamespaceName: aws.String("Bad_Name")})
		wantAPIError(t, err, "ValidationException", 400, "1 validation error detected: Value 'Bad_Name' at 'namespaceName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-z0-9-]+$")
		sas, err := c.ListScheduledActions(ctx, &redshiftserverless.ListScheduledActionsInput{NamespaceName: aws.String("demo")})
		if err != nil || sas.ScheduledActions == nil || len(sas.ScheduledActions) != 0 {
			t.Fatalf("ListScheduledActions = %+v %v", sas, err)
		}
		_, err = c.ListScheduledActions(ctx, &redshiftserverless.ListScheduledActionsInput{NamespaceName: aws.String("nope")})
		wantResourceName(t, err, "nope")
	})

	t.Run("tracks", func(t *testing.T) {
		cur, err := c.GetTrack(ctx, &redshiftserverless.GetTrackInput{TrackName: aws.String("current")})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(cur.Track.TrackName) != "current" || aws.ToString(cur.Track.WorkgroupVersion) != aws.ToString(wg.Workgroup.WorkgroupVersion) ||
			len(cur.Track.UpdateTargets) != 1 || aws.ToString(cur.Track.UpdateTargets[0].TrackName) != "trailing" {
			t.Fatalf("current track %+v, workgroup version %s", cur.Track, aws.ToString(wg.Workgroup.WorkgroupVersion))
		}
		_, err = c.GetTrack(ctx, &redshiftserverless.GetTrackInput{TrackName: aws.String("preview")})
		wantAPIError(t, err, "ResourceNotFoundException", 400, "Track preview not found.")
		wantResourceName(t, err, "preview")
		_, err = c.GetTrack(ctx, &redshiftserverless.GetTrackInput{TrackName: aws.String("no-dash")})
		wantAPIError(t, err, "ValidationException", 400, "")

		page1, err := c.ListTracks(ctx, &redshiftserverless.ListTracksInput{MaxResults: aws.Int32(1)})
		if err != nil || len(page1.Tracks) != 1 || page1.NextToken == nil || aws.ToString(page1.Tracks[0].TrackName) != "current" {
			t.Fatalf("page 1: %+v %v", page1, err)
		}
		page2, err := c.ListTracks(ctx, &redshiftserverless.ListTracksInput{MaxResults: aws.Int32(1), NextToken: page1.NextToken})
		if err != nil || len(page2.Tracks) != 1 || page2.NextToken != nil || aws.ToString(page2.Tracks[0].TrackName) != "trailing" {
			t.Fatalf("page 2: %+v %v", page2, err)
		}
		_, err = c.ListTracks(ctx, &redshiftserverless.ListTracksInput{NextToken: aws.String("tampered-token")})
		wantAPIError(t, err, "InvalidPaginationException", 400, "Invalid nextToken provided.")

		// A workgroup moved to trailing has trailing's version.
		up, err := c.UpdateWorkgroup(ctx, &redshiftserverless.UpdateWorkgroupInput{WorkgroupName: aws.String("demo"), TrackName: aws.String("trailing")})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(up.Workgroup.WorkgroupVersion) != aws.ToString(page2.Tracks[0].WorkgroupVersion) ||
			aws.ToString(up.Workgroup.WorkgroupVersion) == aws.ToString(cur.Track.WorkgroupVersion) {
			t.Fatalf("trailing workgroup version %s, track %s", aws.ToString(up.Workgroup.WorkgroupVersion), aws.ToString(page2.Tracks[0].WorkgroupVersion))
		}
	})
}

// TestGetCredentialsAPI: the IAM database user of the caller, a password
// that expires when asked (900 to 3600 seconds, 900 by default), epoch
// numbers on the wire, and AWS's errors.
func TestGetCredentialsAPI(t *testing.T) {
	t.Parallel()
	srv := testserver.Start(t, testserver.Options{})
	ctx := context.Background()
	as, err := srv.STS(srv.App).AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(testserver.AnalystRoleArn), RoleSessionName: aws.String("creds")})
	if err != nil {
		t.Fatal(err)
	}
	roleCreds := aws.Credentials{AccessKeyID: aws.ToString(as.Credentials.AccessKeyId), SecretAccessKey: aws.ToString(as.Credentials.SecretAccessKey), SessionToken: aws.ToString(as.Credentials.SessionToken)}
	c := srv.Serverless(roleCreds)

	before := time.Now().Truncate(time.Second)
	out, err := c.GetCredentials(ctx, &redshiftserverless.GetCredentialsInput{WorkgroupName: aws.String("demo")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.DbUser) != "IAMR:analyst" || !strings.HasPrefix(aws.ToString(out.DbPassword), "IAMC1.") {
		t.Fatalf("dbUser %q password prefix %q", aws.ToString(out.DbUser), aws.ToString(out.DbPassword)[:6])
	}
	if out.Expiration == nil || out.Expiration.Before(before.Add(900*time.Second)) || out.Expiration.After(time.Now().Add(901*time.Second)) || !out.NextRefreshTime.Equal(*out.Expiration) {
		t.Fatalf("expiration %v next refresh %v", out.Expiration, out.NextRefreshTime)
	}
	long, err := c.GetCredentials(ctx, &redshiftserverless.GetCredentialsInput{WorkgroupName: aws.String("demo"), DurationSeconds: aws.Int32(3600), DbName: aws.String("dev")})
	if err != nil || long.Expiration.Before(before.Add(3600*time.Second)) || aws.ToString(long.DbPassword) == aws.ToString(out.DbPassword) {
		t.Fatalf("3600 s: %+v %v", long, err)
	}
	// Epoch seconds on the wire, as the model's Timestamp shape says.
	raw := srv.CallServerless(t, roleCreds, "GetCredentials", []byte(`{"workgroupName":"demo"}`)).JSON(t)
	if _, ok := raw["expiration"].(float64); !ok {
		t.Fatalf("expiration on the wire: %#v", raw["expiration"])
	}
	if _, ok := raw["nextRefreshTime"].(float64); !ok {
		t.Fatalf("nextRefreshTime on the wire: %#v", raw["nextRefreshTime"])
	}

	// An account root is IAM:root (ours, as the Data API).
	root, err := srv.Serverless(srv.Admin).GetCredentials(ctx, &redshiftserverless.GetCredentialsInput{WorkgroupName: aws.String("demo")})
	if err != nil || aws.ToString(root.DbUser) != "IAM:root" {
		t.Fatalf("root: %+v %v", root, err)
	}

	for _, tc := range []struct {
		name      string
		in        *redshiftserverless.GetCredentialsInput
		code, msg string
	}{
		{"short", &redshiftserverless.GetCredentialsInput{WorkgroupName: aws.String("demo"), DurationSeconds: aws.Int32(899)}, "ValidationException",
			"1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"},
		{"long", &redshiftserverless.GetCredentialsInput{WorkgroupName: aws.String("demo"), DurationSeconds: aws.Int32(3601)}, "ValidationException",
			"1 validation error detected: Value '3601' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 3600"},
		{"no workgroup", &redshiftserverless.GetCredentialsInput{}, "ValidationException", "Either workgroupName or customDomainName must be specified."},
		{"both", &redshiftserverless.GetCredentialsInput{WorkgroupName: aws.String("demo"), CustomDomainName: aws.String("db.example.com")}, "ValidationException",
			"Specify either workgroupName or customDomainName, not both."},
		{"bad dbName", &redshiftserverless.GetCredentialsInput{WorkgroupName: aws.String("demo"), DbName: aws.String("1db")}, "ValidationException", ""},
		{"unknown workgroup", &redshiftserverless.GetCredentialsInput{WorkgroupName: aws.String("nope")}, "ResourceNotFoundException", "Workgroup nope not found."},
		{"custom domain", &redshiftserverless.GetCredentialsInput{CustomDomainName: aws.String("db.example.com")}, "ResourceNotFoundException",
			"Custom domain db.example.com is not associated with any workgroup."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.GetCredentials(ctx, tc.in)
			wantAPIError(t, err, tc.code, 400, tc.msg)
		})
	}
	// The IAM user app may not call it.
	_, err = srv.Serverless(srv.App).GetCredentials(ctx, &redshiftserverless.GetCredentialsInput{WorkgroupName: aws.String("demo")})
	wantAPIError(t, err, "AccessDeniedException", 400, "")

	// The password is in no audit record (the log is written before each answer).
	logged, err := os.ReadFile(filepath.Join(srv.DataDir, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(logged), `"eventName":"GetCredentials"`) || strings.Contains(string(logged), "IAMC1.") {
		t.Fatalf("audit log: GetCredentials recorded %v, a password in it %v", strings.Contains(string(logged), `"eventName":"GetCredentials"`), strings.Contains(string(logged), "IAMC1."))
	}
}

package e2e

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssooidc"
	oidctypes "github.com/aws/aws-sdk-go-v2/service/ssooidc/types"

	"github.com/idcgate/idcgate/internal/testserver"
)

// imNoDirectoryYAML is a deployment without an identityCenter section: the
// example IAM user "app" and nothing of Identity Center.
const imNoDirectoryYAML = `
region: us-east-1
accounts:
  - id: "123456789012"
    users:
      - name: app
        accessKeys:
          - accessKeyId: AKIAIOSFODNN7EXAMPLE
            secretAccessKey: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
        policies:
          - name: identity-broker
            document:
              Version: "2012-10-17"
              Statement:
                - Effect: Allow
                  Action: [sts:AssumeRole, sts:SetContext, sso-oauth:CreateTokenWithIAM]
                  Resource: "*"
`

// TestCreateTokenWithIAMWithoutDirectory: with no Identity Center configured,
// every clientId names an application that does not exist, so the answer is
// InvalidClientException (it used to be a recovered panic).
func TestCreateTokenWithIAMWithoutDirectory(t *testing.T) {
	srv := testserver.Start(t, testserver.Options{ConfigYAML: imNoDirectoryYAML})
	_, err := srv.OIDC(srv.App).CreateTokenWithIAM(context.Background(), &ssooidc.CreateTokenWithIAMInput{
		ClientId: aws.String(testserver.ApplicationArn), GrantType: aws.String(testserver.JWTBearer), Assertion: aws.String("a.b.c"),
	})
	wantAPIError(t, err, "InvalidClientException", 401, "")
	var ic *oidctypes.InvalidClientException
	if !errors.As(err, &ic) || aws.ToString(ic.Error_) != "invalid_client" ||
		aws.ToString(ic.Error_description) != "Application "+testserver.ApplicationArn+" does not exist." {
		t.Fatalf("error %v", err)
	}
}

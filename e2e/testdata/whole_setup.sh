#!/usr/bin/env bash
# The example's trusted-identity-propagation setup made with the AWS CLI on
# an idcgate whose config names only its region and upstream, then alice's
# session, token and psql login through the gateway. Run by
# TestWholeSetupWithTheCLI with:
#   IDCGATE_URL   the AWS APIs' endpoint      IDCGATE_BIN  the idcgate binary
#   PGHOST PGPORT the gateway                 AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY: the administrator
set -euo pipefail

aws() { command aws --endpoint-url "$IDCGATE_URL" --region us-east-1 --output text "$@"; }
as_broker() { AWS_ACCESS_KEY_ID=$BROKER_KEY AWS_SECRET_ACCESS_KEY=$BROKER_SECRET AWS_SESSION_TOKEN= "$@"; }
policy() { # an identity policy allowing the actions on every resource
	local actions
	actions=$(printf '"%s",' "$@")
	printf '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":[%s],"Resource":"*"}]}' "${actions%,}"
}

INSTANCE=$(aws sso-admin list-instances --query 'Instances[0].InstanceArn')
STORE=$(aws sso-admin list-instances --query 'Instances[0].IdentityStoreId')

# The directory.
user() {
	aws identitystore create-user --identity-store-id "$STORE" --user-name "$1" --display-name "$1" \
		--name "GivenName=$1,FamilyName=Example" --emails "Value=$1@example.com,Type=work,Primary=true" --query UserId
}
ALICE=$(user alice)
user bob >/dev/null
GROUP=$(aws identitystore create-group --identity-store-id "$STORE" --display-name analysts --query GroupId)
aws identitystore create-group-membership --identity-store-id "$STORE" --group-id "$GROUP" --member-id "UserId=$ALICE" >/dev/null

# IAM: the broker's user and key, the role the sessions run as.
BROKER_ARN=$(aws iam create-user --user-name broker --query User.Arn)
aws iam put-user-policy --user-name broker --policy-name identity-broker \
	--policy-document "$(policy sts:AssumeRole sts:SetContext sso-oauth:CreateTokenWithIAM)"
read -r BROKER_KEY BROKER_SECRET < <(aws iam create-access-key --user-name broker --query 'AccessKey.[AccessKeyId,SecretAccessKey]')
TRUST='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"'$BROKER_ARN'"},"Action":["sts:AssumeRole","sts:SetContext"]}]}'
ROLE_ARN=$(aws iam create-role --role-name analyst --assume-role-policy-document "$TRUST" --query Role.Arn)
aws iam put-role-policy --role-name analyst --policy-name redshift \
	--policy-document "$(policy redshift-serverless:GetIdentityCenterAuthToken redshift-serverless:GetWorkgroup)"

# The built-in IdP as a trusted token issuer, and the application.
TTI=$(aws sso-admin create-trusted-token-issuer --instance-arn "$INSTANCE" --name idcgate-idp --trusted-token-issuer-type OIDC_JWT \
	--trusted-token-issuer-configuration '{"OidcJwtConfiguration":{"IssuerUrl":"'"$IDCGATE_URL"'/idp","ClaimAttributePath":"email","IdentityStoreAttributePath":"emails.value","JwksRetrievalOption":"OPEN_ID_DISCOVERY"}}' \
	--query TrustedTokenIssuerArn)
APP=$(aws sso-admin create-application --instance-arn "$INSTANCE" --name reports \
	--application-provider-arn arn:aws:sso::aws:applicationProvider/custom --query ApplicationArn)
aws sso-admin put-application-grant --application-arn "$APP" --grant-type urn:ietf:params:oauth:grant-type:jwt-bearer \
	--grant '{"JwtBearer":{"AuthorizedTokenIssuers":[{"TrustedTokenIssuerArn":"'"$TTI"'","AuthorizedAudiences":["reports"]}]}}'
aws sso-admin put-application-access-scope --application-arn "$APP" --scope redshift:connect
aws sso-admin put-application-authentication-method --application-arn "$APP" --authentication-method-type IAM \
	--authentication-method '{"Iam":{"ActorPolicy":{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"'"$BROKER_ARN"'"},"Action":"sso-oauth:CreateTokenWithIAM","Resource":"*"}]}}}'
aws sso-admin put-application-assignment-configuration --application-arn "$APP" --assignment-required
aws sso-admin create-application-assignment --application-arn "$APP" --principal-id "$GROUP" --principal-type GROUP

# Redshift: the IdC application, a namespace using it, a workgroup.
IDC=$(aws redshift create-redshift-idc-application --idc-instance-arn "$INSTANCE" --redshift-idc-application-name demo-idc \
	--identity-namespace AWSIDC --idc-display-name demo --iam-role-arn "$ROLE_ARN" \
	--query RedshiftIdcApplication.RedshiftIdcApplicationArn)
aws redshift-serverless create-namespace --namespace-name demo --db-name dev --redshift-idc-application-arn "$IDC" >/dev/null
aws redshift-serverless create-workgroup --workgroup-name demo --namespace-name demo --base-capacity 8 >/dev/null
for _ in $(seq 100); do
	[ "$(aws redshift-serverless get-workgroup --workgroup-name demo --query workgroup.status)" = AVAILABLE ] && break
	sleep 0.1
done

# alice: the IdP's JWT, the application's token, a role session carrying
# her, a token for the workgroup, psql through the gateway.
JWT=$("$IDCGATE_BIN" idp token --user alice --audience reports --endpoint "$IDCGATE_URL")
ID_TOKEN=$(as_broker aws sso-oidc create-token-with-iam --client-id "$APP" \
	--grant-type urn:ietf:params:oauth:grant-type:jwt-bearer --assertion "$JWT" --query idToken)
CONTEXT=$(python3 -c 'import base64,json,sys; p=sys.argv[1].split(".")[1]; print(json.loads(base64.urlsafe_b64decode(p+"="*(-len(p)%4)))["sts:identity_context"])' "$ID_TOKEN")
read -r AK SK ST < <(as_broker aws sts assume-role --role-arn "$ROLE_ARN" --role-session-name alice \
	--provided-contexts "ProviderArn=arn:aws:iam::aws:contextProvider/IdentityCenter,ContextAssertion=$CONTEXT" \
	--query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]')
TOKEN=$(AWS_ACCESS_KEY_ID=$AK AWS_SECRET_ACCESS_KEY=$SK AWS_SESSION_TOKEN=$ST \
	aws redshift-serverless get-identity-center-auth-token --workgroup-names demo --query token)
PGPASSWORD=$TOKEN psql "host=$PGHOST port=$PGPORT user=alice dbname=dev sslmode=require" -tAc 'SELECT current_user, (SELECT sum(amount) FROM sales)'

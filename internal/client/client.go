// Package client is what idcgate's client subcommands use to talk to a
// running server: the standard AWS credential chain and SDK clients pointed
// at the server's endpoint, and SigV4-signed calls to idcgate's own
// administrator API.
package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
)

// ErrNoCredentials: the standard chain found no credentials to sign with.
var ErrNoCredentials = errors.New("no AWS credentials to sign with: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, " +
	"or AWS_PROFILE, or AWS_SHARED_CREDENTIALS_FILE=<data-dir>/credentials (the administrator keys idcgate serve writes)")

// DefaultEndpoint is where a local idcgate listens.
const DefaultEndpoint = "http://127.0.0.1:7439"

// Client talks to one idcgate.
type Client struct {
	Endpoint string
	AWS      aws.Config
}

// Options select credentials.
type Options struct {
	Endpoint string
	Region   string
	// Profile and CredentialsFile override the chain's defaults when set.
	Profile         string
	CredentialsFile string
	// Static, when set, replaces the chain.
	Static *aws.Credentials
}

// New loads the AWS configuration the way every AWS tool does
// (AWS_ACCESS_KEY_ID…, AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE).
func New(ctx context.Context, o Options) (*Client, error) {
	var opts []func(*awsconfig.LoadOptions) error
	if o.Region != "" {
		opts = append(opts, awsconfig.WithRegion(o.Region))
	}
	if o.Profile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(o.Profile))
	}
	if o.CredentialsFile != "" {
		opts = append(opts, awsconfig.WithSharedCredentialsFiles([]string{o.CredentialsFile}))
	}
	if o.Static != nil {
		opts = append(opts, awsconfig.WithCredentialsProvider(credentials.StaticCredentialsProvider{Value: *o.Static}))
	}
	// The chain's last resort is the EC2 instance metadata service: a tool
	// run on a laptop would wait on a network call to 169.254.169.254 and
	// then fail with an unrelated message. idcgate's credentials are never
	// there.
	opts = append(opts, awsconfig.WithEC2IMDSClientEnableState(imds.ClientDisabled))
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, err
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return nil, fmt.Errorf("%w (%s)", ErrNoCredentials, oneLine(err.Error()))
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	cfg.BaseEndpoint = aws.String(strings.TrimSuffix(o.Endpoint, "/"))
	return &Client{Endpoint: strings.TrimSuffix(o.Endpoint, "/"), AWS: cfg}, nil
}

// APIError is an error answer of the server.
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

// Admin calls Idcgate.<op> with in as JSON and decodes the answer into out.
func (c *Client) Admin(ctx context.Context, op string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Endpoint+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "Idcgate."+op)
	creds, err := c.AWS.Credentials.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("no AWS credentials: %w", err)
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "idcgate", c.AWS.Region, time.Now()); err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		json.Unmarshal(b, &e)
		return &APIError{Status: resp.StatusCode, Code: e.Type, Message: e.Message}
	}
	return json.Unmarshal(b, out)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

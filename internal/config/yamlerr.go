package config

import (
	"bytes"
	"regexp"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// yamlSyntaxLine matches yaml.v3's syntax errors: "yaml: line N: problem".
var yamlSyntaxLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// locateSyntaxError puts the line of the problem into a YAML syntax error.
// yaml.v3 reports the line where the enclosing block began rather than the
// line that broke it (an indentation slip on line 25 of the example reads
// "line 5": the top-level mapping's start). The first prefix of whole lines
// that fails with the same problem ends at the broken line; a prefix that
// fails otherwise (a flow mapping cut in two) is not taken for it, and when
// no prefix matches the error is returned as yaml.v3 gave it.
func locateSyntaxError(doc []byte, err error) error {
	m := yamlSyntaxLine.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	problem := m[2]
	lines := bytes.SplitAfter(doc, []byte("\n"))
	var prefix []byte
	for i, l := range lines {
		prefix = append(prefix, l...)
		var n yaml.Node
		perr := yaml.Unmarshal(prefix, &n)
		if perr == nil {
			continue
		}
		if pm := yamlSyntaxLine.FindStringSubmatch(perr.Error()); pm != nil && pm[2] == problem {
			if strconv.Itoa(i+1) == m[1] {
				return err
			}
			return &lineError{line: i + 1, problem: problem, err: err}
		}
	}
	return err
}

// lineError is a YAML syntax error at the line that caused it.
type lineError struct {
	line    int
	problem string
	err     error
}

func (e *lineError) Error() string { return "yaml: line " + strconv.Itoa(e.line) + ": " + e.problem }
func (e *lineError) Unwrap() error { return e.err }

package storecopy

import "time"

// FileMark is the store's mark, as tests read it.
type FileMark = fileMark

// SetRetryWait sets the pause between store copy attempts until restore.
func SetRetryWait(d time.Duration) (restore func()) {
	old := copyRetryWait
	copyRetryWait = d
	return func() { copyRetryWait = old }
}

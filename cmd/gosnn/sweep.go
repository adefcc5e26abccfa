package main

import (
	"context"
	"io"
)

func sweepCommand(ctx context.Context, args []string, stdout io.Writer) error { return nil }

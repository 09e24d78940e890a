// Command train trains, evaluates and runs the upscaler natively.
//
//	go run ./train fit     -data DIR[,DIR] -val DIR -scale 2 -out weights/general-x2.gob
//	go run ./train eval    [-scale N] [-model general|portrait] [-weights FILE] [-json] DIR...
//	go run ./train upscale [-scale N] [-model general|portrait] [-weights FILE] IN OUT
//	go run ./train info    FILE...
//	go run ./train export  -checkpoint FILE -out FILE
//
// Run a verb with -h for its flags.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// verbs maps each verb to its function; a verb parses its own flags from args.
var verbs = map[string]func(args []string, stdout, stderr io.Writer) error{
	"fit":     runFit,
	"eval":    runEval,
	"upscale": runUpscale,
	"info":    runInfo,
	"plot":    runPlot,
	"export":  runExport,
}

const usage = `usage: train VERB [flags]

verbs:
  fit      train a model on folders of images
  eval     compare nearest, bilinear, bicubic and the model on image folders
  upscale  upscale one image
  info     describe weights files
  plot     redraw a training run's curves from its CSV log
  export   write a checkpoint's step as a weights file (to ship a step other than the run's pick)

Run "train VERB -h" for a verb's flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes a verb and returns the process exit code: 0 on success,
// 2 for bad usage, 1 for any other failure (one line on stderr).
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	verb, ok := verbs[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "train: unknown verb %q\n\n%s", args[0], usage)
		return 2
	}
	err := verb(args[1:], stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, new(usageError)):
		fmt.Fprintf(stderr, "train %s: %v\n", args[0], err)
		return 2
	default:
		fmt.Fprintf(stderr, "train %s: %v\n", args[0], err)
		return 1
	}
}

// usageError marks a mistake in the command line.
type usageError struct{ msg string }

// Error returns the message.
func (e usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(verb, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("train "+verb, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors come back to run, which prints one line
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: train %s %s\n\nflags:\n", verb, synopsis)
		fs.SetOutput(stderr)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return fs
}

// parseFlags parses args, turning a flag error into a usage error (the flag
// package has already printed the details).
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usagef("%v (see -h)", err)
	}
	return nil
}

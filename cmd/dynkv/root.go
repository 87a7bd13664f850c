package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/dynkv/dynkv/conf"
)

// newRootCmd returns the dynkv command tree writing to stdout and stderr.
func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "dynkv",
		Short:         "A Dynamo-style key-value store that speaks the Redis protocol",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newServeCmd(stderr), newDevCmd(stdout, stderr), newVersionCmd(), newRingCmd(), newLeaveCmd(), newJoinCmd(), newChaosCmd(stdout, stderr),
		newBenchCmd(stdout, stderr), newBenchRedconCmd())
	return root
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), versionString())
			return err
		},
	}
}

// configEnv names the configuration file when --config is not given.
const configEnv = conf.EnvPrefix + "CONFIG"

func newServeCmd(stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run a node",
		Long: `Run a node: serve the Redis protocol on --listen with data in --data.dir.

Every flag can also be set in a YAML or TOML file (--config) and as an
environment variable (DYNKV_ + the key upper-cased, dots and dashes as
underscores: DYNKV_DATA_DIR). Flags win over the environment, the
environment over the file, the file over the defaults.

SIGINT or SIGTERM shuts the node down gracefully; a second one kills it.`,
		Args: cobra.NoArgs,
	}
	cmd.Flags().StringP("config", "c", "", "configuration file, YAML (.yaml, .yml) or TOML (.toml) (env "+configEnv+")")
	conf.RegisterFlags(cmd.Flags())
	cmd.Flags().SortFlags = false
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := loadConfig(cmd.Flags())
		if err != nil {
			return usageError{err}
		}
		ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		go func() {
			<-ctx.Done()
			stop() // a second signal gets the default action: exit at once
		}()
		return runNode(ctx, cfg, newLogger(cfg.Log, stderr), nil)
	}
	return cmd
}

// loadConfig loads the configuration of serve from its flags, the
// environment and the file named by --config or DYNKV_CONFIG.
func loadConfig(fs *pflag.FlagSet) (conf.Config, error) {
	file, err := fs.GetString("config")
	if err != nil {
		return conf.Config{}, err
	}
	if file == "" {
		file = os.Getenv(configEnv)
	}
	return conf.Load(conf.Source{File: file, Flags: fs})
}

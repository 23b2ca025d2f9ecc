package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/switchyard-router/switchyard/auth"
	"github.com/switchyard-router/switchyard/config"
	"github.com/switchyard-router/switchyard/usage"
)

// keyRefresh is how often a server reads the key store, for keys created
// or revoked by `switchyard keys` in another process (changes through
// /admin/keys apply at once).
const keyRefresh = 5 * time.Second

// openKeys puts the client keys in force for rl: the key store in the
// usage store's file (none when the store is off), refreshed every
// keyRefresh. stop ends the refreshing.
func openKeys(ctx context.Context, rl *reloader, store *usage.SQLite, cfg *config.Config, log zerolog.Logger) (stop func(), err error) {
	var ks *auth.Store
	if store != nil {
		if ks, err = auth.NewStore(ctx, store.DB()); err != nil {
			return nil, err
		}
	}
	if cfg.Auth.GenerateKey {
		if err := generateKey(ctx, ks, cfg, rl.env, log); err != nil {
			return nil, err
		}
	}
	live, err := auth.NewLive(ctx, nil, ks)
	if err != nil {
		return nil, err
	}
	rl.keys = live
	if ks == nil {
		return func() {}, nil
	}
	rctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(keyRefresh)
		defer t.Stop()
		for {
			select {
			case <-rctx.Done():
				return
			case <-t.C:
				if err := live.Refresh(rctx); err != nil && rctx.Err() == nil {
					log.Warn().Err(err).Msg("keys: the key store could not be read; the keys in force stay")
				}
			}
		}
	}()
	return func() { cancel(); <-done }, nil
}

// generateKey creates the first admin key when auth.generate_key is set
// and no key exists anywhere, and prints it once (Router-Maestro's habit).
func generateKey(ctx context.Context, ks *auth.Store, cfg *config.Config, e env, log zerolog.Logger) error {
	if ks == nil {
		log.Warn().Msg("auth.generate_key: no key store (usage.enabled is off), so no key is generated")
		return nil
	}
	if len(cfg.APIKeys) > 0 {
		return nil
	}
	existing, err := ks.List(ctx)
	if err != nil || len(existing) > 0 {
		return err
	}
	secret, err := ks.Create(ctx, auth.Key{Name: "admin", Roles: []string{auth.RoleAdmin, auth.RoleUser}})
	if err != nil {
		return fmt.Errorf("auth.generate_key: %w", err)
	}
	fmt.Fprintf(e.stderr, "switchyard: generated admin API key %q (shown this once; only its hash is kept):\n\n    %s\n\n", "admin", secret)
	log.Info().Str("key_name", "admin").Msg("admin key generated (auth.generate_key)")
	return nil
}

func keysCmd(e env) *cobra.Command {
	var (
		cf configFlags
		db string
	)
	open := func(cmd *cobra.Command) (*auth.Store, func(), error) {
		path := db
		if path == "" {
			cfg, _, err := cf.load(cmd, e)
			if err != nil {
				return nil, nil, err
			}
			if path, err = usagePath(cfg, e); err != nil {
				return nil, nil, err
			}
		}
		s, err := usage.OpenSQLite(cmd.Context(), path)
		if err != nil {
			return nil, nil, err
		}
		ks, err := auth.NewStore(cmd.Context(), s.DB())
		if err != nil {
			s.Close()
			return nil, nil, err
		}
		return ks, func() { s.Close() }, nil
	}
	cmd := &cobra.Command{
		Use:   "keys create|list|revoke",
		Short: "Manage the client API keys kept in the key store",
		Long: "keys manages client API keys at run time, beside those in the config's\n" +
			"api_keys. They live, hashed, in the usage store's file (usage.path, or --db);\n" +
			"a running server picks up changes within 5 s (POST/DELETE /admin/keys at once).",
	}
	cf.register(cmd)
	cmd.PersistentFlags().StringVar(&db, "db", "", "store file (default: the config's usage.path)")

	var (
		roles, models      []string
		expires            string
		rpm, tpm, rpd, tpd int
	)
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a key and print it, this once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			k := auth.Key{Name: args[0], Roles: roles, Models: models,
				RequestsPerMinute: rpm, TokensPerMinute: tpm, RequestsPerDay: rpd, TokensPerDay: tpd}
			if expires != "" {
				t, err := time.Parse(time.RFC3339, expires)
				if err != nil {
					return fmt.Errorf("--expires: want an RFC 3339 time such as 2027-01-01T00:00:00Z")
				}
				k.Expires = t
			}
			if rpm < 0 || tpm < 0 || rpd < 0 || tpd < 0 {
				return errors.New("limits must not be negative (0 = none)")
			}
			ks, closeStore, err := open(cmd)
			if err != nil {
				return err
			}
			defer closeStore()
			secret, err := ks.Create(cmd.Context(), k)
			if err != nil {
				return fmt.Errorf("key %q: %w", k.Name, err)
			}
			fmt.Fprintln(e.stdout, secret)
			fmt.Fprintf(e.stderr, "switchyard: key %q created; this is the only time it is shown (only its hash is kept)\n", k.Name)
			return nil
		},
	}
	create.Flags().StringSliceVar(&roles, "role", nil, "role: user (default) or admin; repeat or comma-separate")
	create.Flags().StringSliceVar(&models, "models", nil, "models, routes and aliases the key may use (default any)")
	create.Flags().StringVar(&expires, "expires", "", "when the key stops working, RFC 3339")
	create.Flags().IntVar(&rpm, "rpm", 0, "requests per minute (0 = no limit)")
	create.Flags().IntVar(&tpm, "tpm", 0, "tokens per minute (0 = no limit)")
	create.Flags().IntVar(&rpd, "rpd", 0, "requests per day (0 = no limit)")
	create.Flags().IntVar(&tpd, "tpd", 0, "tokens per day (0 = no limit)")

	var asJSON bool
	list := &cobra.Command{
		Use:   "list [--json]",
		Short: "List the stored keys (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ks, closeStore, err := open(cmd)
			if err != nil {
				return err
			}
			defer closeStore()
			keys, err := ks.List(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(e.stdout).Encode(keys)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tROLES\tSTATE\tEXPIRES\tMODELS\tRPM\tTPM\tRPD\tTPD")
			for _, k := range keys {
				state := "enabled"
				switch {
				case k.Revoked:
					state = "revoked"
				case !k.Enabled:
					state = "disabled"
				case !k.Expires.IsZero() && time.Now().After(k.Expires):
					state = "expired"
				}
				exp, ms := "never", "any"
				if !k.Expires.IsZero() {
					exp = k.Expires.Format(time.RFC3339)
				}
				if len(k.Models) > 0 {
					ms = strings.Join(k.Models, ",")
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\n", k.Name, strings.Join(k.Roles, ","), state, exp, ms,
					k.RequestsPerMinute, k.TokensPerMinute, k.RequestsPerDay, k.TokensPerDay)
			}
			return tw.Flush()
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")

	revoke := &cobra.Command{
		Use:   "revoke NAME",
		Short: "Revoke a stored key for good",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ks, closeStore, err := open(cmd)
			if err != nil {
				return err
			}
			defer closeStore()
			if err := ks.Revoke(cmd.Context(), args[0]); err != nil {
				return fmt.Errorf("key %q: %w", args[0], err)
			}
			fmt.Fprintf(e.stderr, "switchyard: key %q revoked\n", args[0])
			return nil
		},
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}

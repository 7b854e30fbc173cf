# bash completion for dbmig (installed as
# share/bash-completion/completions/dbmig by `cmake --install`).
# The option lists are those of `dbmig <command> --help`; a test
# (test/engine/install_test.cpp) checks that they agree.

_dbmig() {
  local cur prev words cword
  _init_completion 2>/dev/null || {
    cur="${COMP_WORDS[COMP_CWORD]}"
    prev="${COMP_WORDS[COMP_CWORD-1]}"
    words=("${COMP_WORDS[@]}")
    cword=$COMP_CWORD
  }

  local commands="apply status verify generate-verify new"
  local output="--json --quiet --verbose --version --help"
  local directory="--dir --dialect"
  local database="--db --state-schema"

  local command="" i
  for ((i = 1; i < cword; i++)); do
    case "${words[i]}" in
      apply | status | verify | generate-verify | new)
        command="${words[i]}"
        break
        ;;
    esac
  done

  case "$prev" in
    --dir)
      COMPREPLY=($(compgen -d -- "$cur"))
      return
      ;;
    --dialect)
      COMPREPLY=($(compgen -W "postgres cockroach" -- "$cur"))
      return
      ;;
    --db | --state-schema | --to | --verify-timeout | --lock-timeout | --ddl-lock-timeout | \
      --lease-ttl | --wait-for-db)
      return
      ;;
  esac

  local options
  case "$command" in
    apply)
      options="--to --dry-run --repair --allow-drift --verify-timeout --lock-timeout"
      options+=" --ddl-lock-timeout --lease-ttl --wait-for-db $directory $database $output"
      ;;
    status) options="--exit-code --history $directory $database $output" ;;
    verify) options="$directory $database $output" ;;
    generate-verify) options="--check $directory $output" ;;
    new) options="--dir $output" ;;
    "")
      if [[ "$cur" != -* ]]; then
        COMPREPLY=($(compgen -W "$commands" -- "$cur"))
        return
      fi
      options="$directory $database $output"
      ;;
  esac
  COMPREPLY=($(compgen -W "$options" -- "$cur"))
}

complete -F _dbmig dbmig

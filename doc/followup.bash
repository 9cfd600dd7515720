# bash completion for followup                                   -*- shell-script -*-

# The sequences followup itself would use: the --sequences or --config already typed,
# else its config's directory, FOLLOWUP_SEQUENCES or the installed ones, with the names
# the files give.
_followup_sequences()
{
    followup "${_followup_globals[@]}" sequences --json 2>/dev/null |
        grep -o '"name":"[^"]*"' | sed 's/^"name":"//; s/"$//'
}

_followup()
{
    local cur prev words cword _followup_globals
    _init_completion -n : || return     # a TIME has colons: one word all the same

    local commands="init import leads show sequences plan due send done skip mark optout
        enroll preview resolve pipeline export"
    local globals="--db --config --sequences --now --quiet --verbose --help --version"

    # Find the command: the first word that is not a global option or its value.
    local i cmd="" cmd_index=0
    _followup_globals=()
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
            --config | --sequences) _followup_globals+=("${words[i]}" "${words[i + 1]}"); ((i++)) ;;
            --db | --now) ((i++)) ;;
            -*) ;;
            *) cmd=${words[i]}; cmd_index=$i; break ;;
        esac
    done
    # The command's arguments before this word, without its options and their values.
    local nargs=0
    for ((i = cmd_index + 1; cmd_index && i < cword; i++)); do
        case ${words[i]} in
            --note | --from | --event | --owner | --map | --timezone | --until | --channel | \
            --date-format | --rejects | --sequence | --status | --limit) ((i++)) ;;
            -*) ;;
            *) ((nargs++)) ;;
        esac
    done

    case $prev in
        --db | --config | --rejects) _filedir; return ;;
        --sequences) _filedir -d; return ;;
        --channel) COMPREPLY=($(compgen -W "email call linkedin task" -- "$cur")); return ;;
        --date-format) COMPREPLY=($(compgen -W "mdy dmy ymd" -- "$cur")); return ;;
        --status) COMPREPLY=($(compgen -W "active cold replied converted lost unsubscribed bounced" -- "$cur")); return ;;
        --sequence) COMPREPLY=($(compgen -W "$(_followup_sequences)" -- "$cur")); return ;;
        --now | --until | --from | --event | --owner | --map | --timezone | --note | --limit) return ;;
    esac

    if [[ -z $cmd ]]; then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "$globals" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$commands" -- "$cur"))
        fi
        return
    fi

    local opts="--help"
    case $cmd in
        import) opts+=" --event --sequence --no-enroll --owner --map --date-format --timezone --rejects --dry-run --json" ;;
        leads) opts+=" --status --owner --event --json" ;;
        show) opts+=" --json" ;;
        sequences)
            if ((nargs == 0)); then
                COMPREPLY=($(compgen -W "check --json" -- "$cur")); return
            fi
            [[ ${words[cmd_index + 1]} == check ]] && { _filedir 'y?(a)ml'; return; } ;;
        plan) opts+=" --from --timezone"; ((nargs == 0)) && [[ $cur != -* ]] &&
            { COMPREPLY=($(compgen -W "$(_followup_sequences)" -- "$cur")); return; } ;;
        due) opts+=" --owner --channel --until --json --ics" ;;
        send) opts+=" --dry-run --limit --check --json" ;;
        done | skip) opts+=" --note" ;;
        optout) opts+=" --token" ;;
        mark) opts+=" --note"; ((nargs == 1)) &&
            { COMPREPLY=($(compgen -W "replied converted lost" -- "$cur")); return; } ;;
        enroll) opts+=" --from"; ((nargs == 1)) &&
            { COMPREPLY=($(compgen -W "$(_followup_sequences)" -- "$cur")); return; } ;;
        resolve) ((nargs == 1)) &&
            { COMPREPLY=($(compgen -W "sent retry" -- "$cur")); return; } ;;
        pipeline) opts+=" --event --owner --json" ;;
        export) opts+=" --csv --json" ;;
    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    elif [[ $cmd == import ]]; then
        _filedir '@(csv|CSV|txt)'
    fi
} && complete -F _followup followup

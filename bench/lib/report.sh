# shellcheck shell=bash
# Prints bench/run.sh's results (the RES table of loadgen result lines) as Markdown tables, with each
# relay's figures next to direct, and a check against the design's targets. Sourced by run.sh.

# num VALUE FORMAT : printf of VALUE, or "-" when VALUE is "-" or empty.
num() { awk -v v="$1" -v f="$2" 'BEGIN { if (v == "-" || v == "") print "-"; else printf f, v }'; }
# r TARGET SCENARIO KEY : one value from a result line.
r() { echo "${VAL[$1|$2|$3]:--}"; }

# to_ms MICROSECONDS : as milliseconds.
to_ms() { awk -v v="$1" 'BEGIN { if (v == "-" || v == "") print "-"; else printf "%.3f", v / 1000 }'; }
# diff_ms A_US B_US : (A - B) in milliseconds.
diff_ms() {
  awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || a == "" || b == "") print "-"; else printf "%+.3f", (a - b) / 1000 }'
}
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b + 0 == 0) print "-"; else printf "%.2f", a / b }'
}

scenario_name() {
  case $1 in
    ns*) echo "small JSON, ${1#ns} conn" ;;
    st*) echo "SSE ${STREAM_EVENTS} events, ${1#st} conn" ;;
  esac
}

print_latency_table() {
  local sc t rps
  echo "| scenario | target | req/s | × direct | p50 ms | p90 ms | p99 ms | added p50 | added p99 | TTFB p50 | TTFB p99 | TTFB added p50 | errors | fake provider CPU |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for sc in "${@}"; do
    for t in "${targets[@]}"; do
      rps=$(r "$t" "$sc" rps)
      printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
        "$(scenario_name "$sc")" "$t" "$(num "$rps" "%.0f")" "$(ratio "$rps" "$(r direct "$sc" rps)")" \
        "$(to_ms "$(r "$t" "$sc" lat_us_p50)")" "$(to_ms "$(r "$t" "$sc" lat_us_p90)")" \
        "$(to_ms "$(r "$t" "$sc" lat_us_p99)")" \
        "$(diff_ms "$(r "$t" "$sc" lat_us_p50)" "$(r direct "$sc" lat_us_p50)")" \
        "$(diff_ms "$(r "$t" "$sc" lat_us_p99)" "$(r direct "$sc" lat_us_p99)")" \
        "$(to_ms "$(r "$t" "$sc" ttfb_us_p50)")" "$(to_ms "$(r "$t" "$sc" ttfb_us_p99)")" \
        "$(diff_ms "$(r "$t" "$sc" ttfb_us_p50)" "$(r direct "$sc" ttfb_us_p50)")" \
        "$(r "$t" "$sc" errors)" \
        "$(awk -v k="$(r "$t" "$sc" cpu_ticks_fake)" -v w="$(r "$t" "$sc" wall_s)" -v h="$CLK_TCK" \
            'BEGIN { if (k == "-" || w + 0 == 0) print "-"; else printf "%.0f%%", 100 * k / h / w }')"
    done
  done
}

# CPU time per completed request, per process of each relay (the fake provider's own for direct).
print_cpu_table() {
  local t spec name sc cells
  local mid=${CONNS[1]}
  echo "| target | process | CPU µs per small request ($mid conn) | CPU µs per 50-event stream ($mid conn) |"
  echo "|---|---|---:|---:|"
  for t in "${targets[@]}"; do
    for spec in ${TARGET_PIDS[$t]} fake=$FAKE_PID; do
      name=${spec%%=*}
      cells=()
      for sc in "ns$mid" "st$mid"; do
        cells+=("$(awk -v k="$(r "$t" "$sc" "cpu_ticks_$name")" -v n="$(r "$t" "$sc" completed)" -v h="$CLK_TCK" \
          'BEGIN { if (k == "-" || n == "-" || n + 0 == 0) print "-"; else printf "%.1f", 1e6 * k / h / n }')")
      done
      [ "$name" = fake ] && name="fake provider"
      echo "| $t | $name | ${cells[0]} | ${cells[1]} |"
    done
  done
}

print_hold_table() {
  local t spec name before during per sum_delta services
  echo "| target | streams ok / opened | peak open | open at memory sample | all open after (s) | TTFB p50 ms | TTFB p99 ms | RSS before → during (MiB) | relay memory per stream |"
  echo "|---|---:|---:|---:|---:|---:|---:|---|---:|"
  for t in "${targets[@]}"; do
    services=""
    sum_delta=0
    for spec in ${TARGET_PIDS[$t]} fake=$FAKE_PID; do
      name=${spec%%=*}
      before=$(r "$t" hold "rss_before_kib_$name")
      during=$(r "$t" hold "rss_during_kib_$name")
      services+="$name $(num "$before" "%.0f" | awk '{ if ($1 == "-") print "-"; else printf "%.1f", $1 / 1024 }') → $(num "$during" "%.0f" | awk '{ if ($1 == "-") print "-"; else printf "%.1f", $1 / 1024 }'); "
      if [ "$name" != fake ] && [ "$before" != - ] && [ "$during" != - ]; then
        sum_delta=$((sum_delta + during - before))
      fi
    done
    per="-"
    if [ "$t" != direct ]; then
      per=$(awk -v d="$sum_delta" -v n="$(r "$t" hold open_at_sample)" \
        'BEGIN { if (n == "-" || n + 0 <= 0) print "-"; else printf "%.1f KiB", d / n }')
    fi
    printf '| %s | %s / %s | %s | %s | %s | %s | %s | %s | %s |\n' "$t" "$(r "$t" hold ok)" "$HOLD_N" \
      "$(r "$t" hold peak_open)" "$(r "$t" hold open_at_sample)" \
      "$(awk -v v="$(r "$t" hold ramp_ms)" 'BEGIN { if (v == "-" || v < 0) print "-"; else printf "%.1f", v / 1000 }')" \
      "$(to_ms "$(r "$t" hold ttfb_us_p50)")" "$(to_ms "$(r "$t" hold ttfb_us_p99)")" "${services%; }" "$per"
  done
}

print_cancel_table() {
  local t
  echo "| target | provider connection closed | close after leave p50 ms | max ms | streams that ran on | ran on for (avg ms) |"
  echo "|---|---:|---:|---:|---:|---:|"
  for t in "${targets[@]}"; do
    printf '| %s | %s / %s | %s | %s | %s | %s |\n' "$t" "$(r "$t" cancel closed)" "$CANCEL_N" \
      "$(r "$t" cancel close_ms_p50)" "$(r "$t" cancel close_ms_max)" "$(r "$t" cancel ran_on)" \
      "$(r "$t" cancel ran_on_ms_avg)"
  done
}

# suite_cpu_us TARGET SCENARIO : CPU µs per completed request, summed over the target's processes.
suite_cpu_us() {
  local spec ticks=0 v
  for spec in ${TARGET_PIDS[$1]}; do
    v=$(r "$1" "$2" "cpu_ticks_${spec%%=*}")
    [ "$v" = - ] && { echo -; return; }
    ticks=$((ticks + v))
  done
  awk -v k="$ticks" -v n="$(r "$1" "$2" completed)" -v h="$CLK_TCK" \
    'BEGIN { if (n == "-" || n + 0 == 0) print "-"; else printf "%.0f", k / h * 1e6 / n }'
}

# What metrics and JSON access logs cost (--observability): the same scenarios through the suite with
# them off (byok) and on (byok-obs), measured in the same run.
print_observability_table() {
  local sc
  echo "| scenario | req/s off | req/s on | p50 ms off | p50 ms on | p50 added by on | p99 ms off | p99 ms on | suite CPU µs/req off | suite CPU µs/req on |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for sc in "$@"; do
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$(scenario_name "$sc")" \
      "$(num "$(r byok "$sc" rps)" "%.0f")" "$(num "$(r byok-obs "$sc" rps)" "%.0f")" \
      "$(to_ms "$(r byok "$sc" lat_us_p50)")" "$(to_ms "$(r byok-obs "$sc" lat_us_p50)")" \
      "$(diff_ms "$(r byok-obs "$sc" lat_us_p50)" "$(r byok "$sc" lat_us_p50)")" \
      "$(to_ms "$(r byok "$sc" lat_us_p99)")" "$(to_ms "$(r byok-obs "$sc" lat_us_p99)")" \
      "$(suite_cpu_us byok "$sc")" "$(suite_cpu_us byok-obs "$sc")"
  done
}

# verdict COND_AWK_EXPR : "met" / "missed" / "not measured".
verdict() { awk "BEGIN { if ($1) print \"met\"; else print \"missed\" }" 2>/dev/null || echo "not measured"; }

print_targets() {
  local mid=${CONNS[1]} last=${CONNS[2]} a50 a99 t50 per closed ok c rp rb
  if [[ " ${targets[*]} " != *" byok "* ]]; then
    echo "Design targets: not checked (the suite did not run)."
    return
  fi
  a50=$(diff_ms "$(r byok "ns$mid" lat_us_p50)" "$(r direct "ns$mid" lat_us_p50)")
  a99=$(diff_ms "$(r byok "ns$mid" lat_us_p99)" "$(r direct "ns$mid" lat_us_p99)")
  t50=$(diff_ms "$(r byok st1 ttfb_us_p50)" "$(r direct st1 ttfb_us_p50)")
  per=$(print_hold_table | awk -F'|' '$2 == " byok " { gsub(/ KiB| /, "", $10); print $10 }')
  closed=$(r byok cancel closed)
  ok=$(r byok cancel close_ms_max)
  echo "| design target | measured | verdict |"
  echo "|---|---|---|"
  echo "| added latency p50 < 0.3 ms (small request, $mid conn) | $a50 ms | $([ "$a50" = - ] && echo "not measured" || verdict "$a50 < 0.3") |"
  echo "| added latency p99 < 1 ms (small request, $mid conn) | $a99 ms | $([ "$a99" = - ] && echo "not measured" || verdict "$a99 < 1") |"
  echo "| TTFB within 1 ms of direct (stream, 1 conn, p50) | $t50 ms | $([ "$t50" = - ] && echo "not measured" || verdict "$t50 < 1") |"
  echo "| $HOLD_N streams held, < 16 KiB each across the suite | $(r byok hold ok) ok, ${per:--} KiB/stream | $([ -z "$per" ] || [ "$per" = - ] && echo "not measured" || verdict "$(r byok hold ok) == $HOLD_N && $per < 16") |"
  echo "| client disconnect closes upstream within 50 ms | $closed/$CANCEL_N closed, max $ok ms | $([ "$ok" = - ] && echo "not measured" || verdict "$closed == $CANCEL_N && $ok < 50") |"
  if [[ " ${targets[*]} " == *" portkey "* ]]; then
    for c in "${CONNS[@]}"; do
      rb=$(r byok "ns$c" rps)
      rp=$(r portkey "ns$c" rps)
      echo "| ≥ 10× Portkey's req/s, small requests, $c conn | $(ratio "$rb" "$rp")× | $(verdict "$(ratio "$rb" "$rp") >= 10" ) |"
    done
  else
    echo "| ≥ 10× Portkey's req/s | Portkey not run | not measured |"
  fi
}

print_report() {
  local ns=() st=() c
  for c in "${CONNS[@]}"; do ns+=("ns$c"); st+=("st$c"); done
  echo "## byok-relay benchmark ($([ $smoke = 1 ] && echo smoke || echo full) run, $(date -u '+%Y-%m-%d %H:%M UTC'))"
  echo
  echo "Machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM."
  echo "Suite: $suite_status. Portkey: $portkey_status. Loopback; fake provider on 1 thread; load generator on 1 thread."
  echo "Latencies in ms; added = target minus direct at the same percentile; ${DURATION} s measured after ${WARMUP} s warm-up per row."
  echo
  echo "### Small non-streaming requests"
  print_latency_table "${ns[@]}"
  echo
  echo "### Streaming requests (SSE, ${STREAM_EVENTS} events back to back; TTFB = first body byte)"
  print_latency_table "${st[@]}"
  echo
  echo "### ${HOLD_N} concurrent slow streams held (${HOLD_EVENTS} events, ${HOLD_INTERVAL} ms apart)"
  print_hold_table
  echo
  echo "### Cancellation (client leaves after 3 of ${CANCEL_EVENTS} events, ${CANCEL_INTERVAL} ms apart)"
  print_cancel_table
  echo
  echo "### CPU time per request (user + system, from /proc/<pid>/stat, warm-up included)"
  print_cpu_table
  echo
  if [[ " ${targets[*]} " == *" byok-obs "* ]]; then
    echo "### Observability cost (byok: metrics off, text logs at warn; byok-obs: BYOK_METRICS_ADDR set, LOG_FORMAT=json, LOG_LEVEL=info, one access line per request)"
    print_observability_table "${ns[@]}" "${st[@]}"
    echo
  fi
  echo "### Design targets"
  print_targets
}

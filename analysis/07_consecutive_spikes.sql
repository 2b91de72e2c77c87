-- Consecutive temperature spikes: a spike is a change of more than 10 °C from the same
-- sensor's previous reading taken at most 5 minutes before; listed are spikes whose
-- previous reading was a spike too (a glitch and its return, or a sensor jumping around).
WITH changes AS (
  SELECT sensor_id, ts, temperature,
         temperature - LAG(temperature) OVER w                      AS change,
         unix_millis(ts) - unix_millis(LAG(ts) OVER w)              AS millis_since_previous
  FROM sensor_data
  WINDOW w AS (PARTITION BY sensor_id ORDER BY ts)
),
spikes AS (
  SELECT *, abs(change) > 10 AND millis_since_previous <= 300000 AS spike
  FROM changes
),
runs AS (
  SELECT *, LAG(spike) OVER (PARTITION BY sensor_id ORDER BY ts) AS previous_was_spike,
            LAG(ts) OVER (PARTITION BY sensor_id ORDER BY ts)    AS previous_ts
  FROM spikes
)
SELECT sensor_id, previous_ts AS first_spike_ts, ts AS second_spike_ts, temperature, round(change, 3) AS change
FROM runs
WHERE spike AND previous_was_spike
ORDER BY sensor_id, ts

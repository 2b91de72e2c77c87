-- Data-quality analyst: the trend of reject reasons. Rejects per reason code and day (the
-- day they were rejected), with the change since the previous day the reason was seen
-- (NULL the first time). An event rejected for two reasons counts once under each.
WITH daily AS (
  SELECT day, reason, count(*) AS rejects
  FROM sensor_rejects LATERAL VIEW explode(reasons) r AS reason
  GROUP BY day, reason
)
SELECT day, reason, rejects,
       rejects - LAG(rejects) OVER (PARTITION BY reason ORDER BY day) AS change_from_previous_day
FROM daily
ORDER BY day, rejects DESC, reason

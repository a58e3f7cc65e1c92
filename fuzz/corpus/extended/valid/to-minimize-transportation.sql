SELECT
    t.plants AS plants,
    t.markets AS markets,
    t.distance AS distance,
    p.capacity AS capacity,
    m.demand AS demand
FROM my_db.transportation AS t
LEFT JOIN my_db.plants AS p ON t.plants = p.plants
LEFT JOIN my_db.markets AS m ON t.markets = m.markets
TO MINIMIZE
    SUM(amount * distance)
CONSTRAINT
    SUM(amount) <= capacity GROUP BY plants,
    SUM(amount) >= demand GROUP BY markets
WITH
    variables="amount(plants,markets)",
    var_type="NonNegativeIntegers"
INTO my_db.transportation_result_table;

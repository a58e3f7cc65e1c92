SELECT * FROM my_db.woodcarving -- the input data source
TO MAXIMIZE
    SUM((price - materials_cost - other_cost) * amount) -- the objective
CONSTRAINT
    SUM(finishing * amount) <= 100, -- finishing
    SUM(carpentry * amount) <= 80, -- carpentry
    amount <= max_num -- demand
WITH
    variables="amount(product)",
    var_type="NonNegativeIntegers"
USING glpk
INTO my_db.woodcarving_result_table;

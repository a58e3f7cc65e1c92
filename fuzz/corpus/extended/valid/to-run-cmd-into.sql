SELECT * FROM source_table ORDER BY creation_date
TO RUN a_data_scientist/extract_ts_features:1.0
CMD "slide_window_to_row", "--param_a=value_a", '--param_b=value_b'
INTO output_table_1, db.output_table_2;

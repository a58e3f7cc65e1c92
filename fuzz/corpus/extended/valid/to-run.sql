SELECT * FROM t TO RUN a_data_scientist/ts_data_processor:1.0;

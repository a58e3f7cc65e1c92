SELECT 1 TO run.x;

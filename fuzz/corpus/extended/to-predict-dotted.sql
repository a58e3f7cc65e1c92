SELECT 1 TO predict.y;

/** The little of @lhncbc/ucum-lhc (the NLM's UCUM library, untyped) that Ampoule uses. */
declare module '@lhncbc/ucum-lhc' {
  interface UcumUnit {
    name_: string;
    csCode_: string;
    printSymbol_: string | null;
    property_: string;
  }
  interface ValidationResult {
    status: 'valid' | 'invalid' | 'error';
    ucumCode: string | null;
    msg: string[];
    unit?: { code: string; name: string; guidance: string | null };
  }
  interface ConversionResult {
    status: 'succeeded' | 'failed' | 'error';
    toVal: number | null;
    msg: string[];
    fromUnit?: UcumUnit;
    toUnit?: UcumUnit;
  }
  interface UcumLhcUtils {
    validateUnitString(unit: string, suggest?: boolean): ValidationResult;
    convertUnitTo(fromUnit: string, value: number, toUnit: string): ConversionResult;
  }
  export const UcumLhcUtils: { getInstance(): UcumLhcUtils };
  interface UnitTables {
    /** Filled once UcumLhcUtils has been used. */
    getUnitByCode(code: string): UcumUnit | null;
  }
  export const UnitTables: { getInstance(): UnitTables };
}

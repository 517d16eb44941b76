package dev.engagement.pipeline.model;

/** The change-data-capture operation of a captured row, as Debezium names it. */
public enum ChangeOp {
    /** Read during the initial snapshot. */
    READ("r"),
    CREATE("c"),
    UPDATE("u"),
    DELETE("d");

    private final String code;

    ChangeOp(String code) {
        this.code = code;
    }

    public String code() {
        return code;
    }

    public boolean isInsert() {
        return this == READ || this == CREATE;
    }

    public static ChangeOp ofCode(String code) {
        if (code != null && code.length() == 1) {
            switch (code.charAt(0)) {
                case 'r': return READ;
                case 'c': return CREATE;
                case 'u': return UPDATE;
                case 'd': return DELETE;
                default: break;
            }
        }
        throw new IllegalArgumentException("unknown change operation '" + code + "'");
    }
}

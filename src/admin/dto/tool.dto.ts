import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsObject, IsOptional, Matches } from 'class-validator';
import { TOOL_ID_PATTERN } from './app.dto.js';
import { UserAppParams } from './user.dto.js';

export class UserAppToolParams extends UserAppParams {
  @ApiProperty({ example: 'my_tool_name' })
  @Matches(TOOL_ID_PATTERN, { message: 'toolId is not a valid tool id' })
  toolId!: string;
}

export class ToolCallDto {
  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { oneOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }] },
    description: "Values for the tool's declared parameters",
    example: { query: 'weather' },
  })
  @IsOptional()
  @IsObject()
  toolParameters?: Record<string, string | number | boolean>;
}

export class ToolCallView {
  @ApiProperty() toolId!: string;
  @ApiProperty() packageName!: string;
  @ApiProperty() userId!: string;
  @ApiProperty({ description: "What the app's onToolCall returned (null for nothing)", nullable: true })
  reply!: unknown;
  @ApiProperty({
    description: "Whether the app was running in the user's session (the SDK passes it as activeSession)",
  })
  appRunning!: boolean;
}
